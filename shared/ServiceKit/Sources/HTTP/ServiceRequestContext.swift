import Hummingbird
import Logging
import NIOCore

/// The request context of every WedSync service: Hummingbird's core context, the request id, and the body size
/// limit the service was configured with.
public struct ServiceRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request's id: the caller's `x-request-id` when it sent a sane one, otherwise a new one. It is in the
    /// logger's metadata, in the response, and on every call the request makes to another service.
    public var requestID: String
    /// The largest request body the routes will read (413 above it).
    public var maxUploadSize: Int
    /// The peer's address (the client, or the last proxy before this service).
    public var remoteAddress: SocketAddress?
    /// The caller, once a route for services, monitors or the admin checked its credential (``RouteAccess``);
    /// `nil` on public and tenant routes.
    public var identity: CallerIdentity?
    /// The event loop of the request's connection. The response's parts reach it in the order they are written,
    /// so a task queued on it after the last part runs once that part has passed the channel.
    public let eventLoop: any EventLoop

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestID = ""
        self.maxUploadSize = 1 << 20
        self.remoteAddress = source.channel.remoteAddress
        self.eventLoop = source.channel.eventLoop
    }
}
