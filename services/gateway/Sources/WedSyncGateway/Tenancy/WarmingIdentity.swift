import HTTPTypes
import Hummingbird
import WedSyncModels
import WedSyncServiceKit

/// The services that may warm the response cache on a tenant's behalf (`gateway.warming-services`).
///
/// A warming request carries the service's own credential (never a supplier's token) and the organization in
/// `X-Tenant-Id` (``WarmingHeaders/tenant``), on a `GET` or `HEAD` of a tenant route. The gateway then treats it
/// as that tenant's request: the same cache key and `Vary` values a supplier of the organization has, so the
/// supplier's first read is a hit, and no other tenant's key is ever touched. It forwards the credential and the
/// field to the API, which checks them again (`api.warming-services`). Such a request is not rate limited (the
/// warming job bounds its own concurrency), is stored before it is answered, and may ask for a longer freshness
/// (``WarmingHeaders/ttl``, capped by ``maximumLifetime``) so that a page warmed on Friday evening still answers on
/// Saturday.
///
/// From anyone else, `X-Tenant-Id` is dropped as it always is: the tenant comes from the token.
public struct WarmingIdentity: Sendable {
    let credentials: ServiceCredentials
    let names: [String]
    /// The longest freshness a warming request may ask for, in seconds.
    let maximumLifetime: Int

    public init(credentials: ServiceCredentials, names: [String], maximumLifetime: Int) {
        self.credentials = credentials
        self.names = names
        self.maximumLifetime = maximumLifetime
    }

    /// What a warming request asks for.
    struct Warming: Sendable, Equatable {
        var tenant: String
        /// Seconds the stored response stays fresh at least; `nil` for the response's own freshness.
        var lifetime: Int?
    }

    static let tenantField = HTTPField.Name(WarmingHeaders.tenant)!
    static let ttlField = HTTPField.Name(WarmingHeaders.ttl)!

    /// The warming a request asks for; `nil` when it is not a warming service's (no `X-Tenant-Id`, a supplier's
    /// token, or a credential of no warming service). Throws 405 for a write and 400 for a malformed field
    /// (``WarmingRequest``).
    func warming(of request: Request) throws(ServiceError) -> Warming? {
        // Clients do not send X-Tenant-Id (the gateway sets it): only a request with one pays for the credential check.
        guard !names.isEmpty, let tenant = request.headers[Self.tenantField] else { return nil }
        guard case .identified(.service(let name)) = credentials.identify(request.headers[.authorization]),
            names.contains(name)
        else { return nil }
        let organization = try WarmingRequest.organization(tenant, method: request.method)
        var lifetime: Int?
        if let text = request.headers[Self.ttlField] {
            guard (1...10).contains(text.utf8.count), let seconds = Int(text), seconds > 0 else {
                throw ServiceError.badRequest(
                    "\(WarmingHeaders.ttl): expected a number of seconds",
                    code: "invalid_warm_ttl"
                )
            }
            lifetime = min(seconds, maximumLifetime)
        }
        return Warming(tenant: String(organization), lifetime: lifetime)
    }
}
