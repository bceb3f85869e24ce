import HTTPTypes
import Hummingbird

/// A service's routes: each is registered with Hummingbird and described in the service's OpenAPI document in one
/// call, and its access rule (public, or admin bearer token) is enforced before the handler runs.
///
/// ```swift
/// routes.get("/v1/cache/stats", RouteSpec(summary: "Cache statistics", response: .of(CacheStats.self))) { _, _ in
///     await cache.statistics()
/// }
/// ```
public final class ServiceRoutes {
    let router: Router<ServiceRequestContext>
    var document: OpenAPIDocument
    private let adminToken: String?

    init(router: Router<ServiceRequestContext>, document: OpenAPIDocument, adminToken: String?) {
        self.router = router
        self.document = document
        self.adminToken = adminToken
    }

    /// The admin token check, for a public route that takes some requests only from an admin or a service (the
    /// metrics service's `finding` events).
    public var admin: AdminCheck { AdminCheck(token: adminToken) }

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
        if spec.effectiveAccess(for: method) == .admin {
            let token = adminToken
            router.on(RouterPath(path), method: method) { request, context in
                try AdminAuthorization.verify(request.headers[.authorization], expected: token)
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

    /// A JSON `POST` route (admin-only unless the spec says otherwise).
    public func post<Output: Encodable & Sendable>(
        _ path: String,
        _ spec: RouteSpec,
        handler: @escaping @Sendable (Request, ServiceRequestContext) async throws -> Output
    ) {
        add(.post, path, spec, handler: handler)
    }

    /// A JSON `PUT` route (admin-only unless the spec says otherwise).
    public func put<Output: Encodable & Sendable>(
        _ path: String,
        _ spec: RouteSpec,
        handler: @escaping @Sendable (Request, ServiceRequestContext) async throws -> Output
    ) {
        add(.put, path, spec, handler: handler)
    }

    /// A JSON `PATCH` route (admin-only unless the spec says otherwise).
    public func patch<Output: Encodable & Sendable>(
        _ path: String,
        _ spec: RouteSpec,
        handler: @escaping @Sendable (Request, ServiceRequestContext) async throws -> Output
    ) {
        add(.patch, path, spec, handler: handler)
    }

    /// A JSON `DELETE` route (admin-only unless the spec says otherwise).
    public func delete<Output: Encodable & Sendable>(
        _ path: String,
        _ spec: RouteSpec,
        handler: @escaping @Sendable (Request, ServiceRequestContext) async throws -> Output
    ) {
        add(.delete, path, spec, handler: handler)
    }
}

/// Checks a request for the admin bearer token (``ServiceRoutes/admin``).
public struct AdminCheck: Sendable {
    let token: String?

    /// Throws 401 unless `request` carries the admin bearer token.
    public func verify(_ request: Request) throws(ServiceError) {
        try AdminAuthorization.verify(request.headers[.authorization], expected: token)
    }
}
