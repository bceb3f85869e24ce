import HTTPTypes
import Hummingbird
import NIOCore

/// What the proxy keeps of a client's request while it works on it.
struct IncomingRequest: Sendable {
    let request: Request
    /// Path and query as sent.
    let target: String
    let tenant: String?
    /// What the cache keys the request's responses by beyond the URL: the tenant, or on a public route a digest of
    /// the credentials the request carries; `nil` when it carries none.
    let cacheScope: String?
    let clientAddress: String?
    let requestID: String
    /// The event loop of the client's connection: an upstream connection on it keeps the exchange on one thread.
    var eventLoop: (any EventLoop)? = nil
    /// A warming service's request for a longer freshness of what it stores (``WarmingIdentity``), in seconds.
    var warmLifetime: Int? = nil
    /// A warming service's request on the tenant's behalf: what it fetches is stored before it is answered.
    var isWarming = false

    /// The request's values of a field (lowercase name); the tenant's for `x-tenant-id`.
    func values(_ name: String) -> [String] {
        if name == ProxyHeaders.tenant { return tenant.map { [$0] } ?? [] }
        guard let field = HTTPField.Name(name) else { return [] }
        return request.headers[values: field]
    }
}
