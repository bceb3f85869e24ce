import HTTPTypes
import Hummingbird

/// A service's routes: each is registered with Hummingbird and described in the service's OpenAPI document in one
/// call, and its access rule (``RouteAccess``) is enforced before the handler runs: a route for services, monitors
/// or the admin answers 401 without a known credential and 403 to a caller it is not for, and its handler finds
/// the caller in ``ServiceRequestContext/identity``.
///
/// ```swift
/// routes.get("/v1/stats", RouteSpec(summary: "Cache statistics", access: .monitor, response: .of(CacheStats.self))) { _, _ in
///     cache.statistics()
/// }
/// ```
public final class ServiceRoutes {
    let router: Router<ServiceRequestContext>
    var document: OpenAPIDocument
    /// What callers are checked against.
    public let credentials: ServiceCredentials
    /// Each registered path template and its methods, for 405 answers (``MethodNotAllowedMiddleware``).
    let methods: RouteMethods

    init(
        router: Router<ServiceRequestContext>,
        document: OpenAPIDocument,
        credentials: ServiceCredentials,
        methods: RouteMethods
    ) {
        self.router = router
        self.document = document
        self.credentials = credentials
        self.methods = methods
    }

    /// Registers a route whose handler builds the `Response` itself (text, streams, proxied bodies).
    public func add(
        _ method: HTTPRequest.Method,
        _ path: String,
        _ spec: RouteSpec,
        responder: @escaping @Sendable (Request, ServiceRequestContext) async throws -> Response
    ) {
        document.routes.append(.init(method: method, path: path, spec: spec))
        register(method, path, spec, responder: responder)
    }

    /// Registers a route with Hummingbird only (its description is already in the document).
    func register(
        _ method: HTTPRequest.Method,
        _ path: String,
        _ spec: RouteSpec,
        responder: @escaping @Sendable (Request, ServiceRequestContext) async throws -> Response
    ) {
        methods.add(method, path)
        let access = spec.access
        if access.needsIdentity {
            let credentials = self.credentials
            router.on(RouterPath(path), method: method) { request, context in
                var context = context
                context.identity = try Self.authorize(request, access: access, credentials: credentials)
                return try await responder(request, context)
            }
        } else {
            router.on(RouterPath(path), method: method) { request, context in
                try await responder(request, context)
            }
        }
    }

    /// Registers a route whose handler returns a value sent as JSON with the spec's success status.
    public func add<Output: Encodable & Sendable>(
        _ method: HTTPRequest.Method,
        _ path: String,
        _ spec: RouteSpec,
        handler: @escaping @Sendable (Request, ServiceRequestContext) async throws -> Output
    ) {
        let status = HTTPResponse.Status(code: spec.successStatus)
        add(method, path, spec) { (request, context) async throws -> Response in
            Response.json(try await handler(request, context), status: status)
        }
    }

    /// A JSON `GET` route.
    public func get<Output: Encodable & Sendable>(
        _ path: String,
        _ spec: RouteSpec,
        handler: @escaping @Sendable (Request, ServiceRequestContext) async throws -> Output
    ) {
        add(.get, path, spec, handler: handler)
    }

    /// The caller of `request`, if `access` lets it in: 401 without a known credential, 403 when the caller is not
    /// one the route is for.
    static func authorize(_ request: Request, access: RouteAccess, credentials: ServiceCredentials) throws(ServiceError)
        -> CallerIdentity
    {
        if access.level == .admin, !credentials.hasAdmin {
            throw ServiceError.unauthorized("admin routes are disabled: the service has no admin.token configured")
        }
        // Monitoring pages are opened in browsers too: they may answer a Basic challenge (a field of its own, which
        // browsers read where they skip a combined one) with the token as password.
        var challenge: HTTPFields = [.wwwAuthenticate: "Bearer"]
        if access.level == .monitor {
            challenge.append(HTTPField(name: .wwwAuthenticate, value: #"Basic realm="wedsync monitor""#))
        }
        switch credentials.identify(request.headers[.authorization]) {
        case .anonymous:
            throw ServiceError(
                .unauthorized,
                code: "unauthorized",
                message: "this route needs a bearer token (\(access))",
                headers: challenge
            )
        case .invalid:
            throw ServiceError(
                .unauthorized,
                code: "unauthorized",
                message: "the bearer token is not valid",
                headers: challenge
            )
        case .identified(let identity):
            guard access.allows(identity) else {
                throw ServiceError.forbidden("this route is for \(access), not \(identity)")
            }
            return identity
        }
    }

    /// A JSON `POST` route.
    public func post<Output: Encodable & Sendable>(
        _ path: String,
        _ spec: RouteSpec,
        handler: @escaping @Sendable (Request, ServiceRequestContext) async throws -> Output
    ) {
        add(.post, path, spec, handler: handler)
    }

    /// A JSON `PUT` route.
    public func put<Output: Encodable & Sendable>(
        _ path: String,
        _ spec: RouteSpec,
        handler: @escaping @Sendable (Request, ServiceRequestContext) async throws -> Output
    ) {
        add(.put, path, spec, handler: handler)
    }

    /// A JSON `PATCH` route.
    public func patch<Output: Encodable & Sendable>(
        _ path: String,
        _ spec: RouteSpec,
        handler: @escaping @Sendable (Request, ServiceRequestContext) async throws -> Output
    ) {
        add(.patch, path, spec, handler: handler)
    }

    /// A JSON `DELETE` route.
    public func delete<Output: Encodable & Sendable>(
        _ path: String,
        _ spec: RouteSpec,
        handler: @escaping @Sendable (Request, ServiceRequestContext) async throws -> Output
    ) {
        add(.delete, path, spec, handler: handler)
    }
}
