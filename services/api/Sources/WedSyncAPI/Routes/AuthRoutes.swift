import Hummingbird
import WedSyncModels
import WedSyncServiceKit

/// `GET /api/auth/introspect`: who the caller's bearer token belongs to (the gateway checks tokens through it and
/// sets the request's tenant from the answer). The lookup is ``APIEnvironment``'s, through the ``TokenStore``.
struct AuthRoutes {
    let environment: APIEnvironment

    func register(_ routes: ServiceRoutes) {
        routes.add(
            .get,
            "/api/auth/introspect",
            RouteSpec(
                summary: "The supplier and organization of the caller's bearer token",
                description: "401 when the token is unknown or revoked. Never cached by a shared cache.",
                tags: ["auth"],
                access: .tenant,
                response: .of(TokenIntrospection.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/auth/introspect") { principal in
                var response = Response.json(
                    TokenIntrospection(
                        active: true,
                        supplierId: principal.supplierId,
                        organizationId: principal.organizationId,
                        role: principal.role
                    )
                )
                response.headers[.cacheControl] = "no-store"
                return response
            }
        }
    }
}
