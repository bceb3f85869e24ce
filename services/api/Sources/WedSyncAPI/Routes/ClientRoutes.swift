import Foundation
import Hummingbird
import WedSyncModels
import WedSyncServiceKit

/// `GET /api/clients`, `GET /api/clients/{id}`, `PATCH /api/clients/{id}`: parameters, status codes and cache
/// headers; the statements are ``ClientStore``'s.
struct ClientRoutes {
    let environment: APIEnvironment
    let store: ClientStore

    init(environment: APIEnvironment) {
        self.environment = environment
        self.store = ClientStore(database: environment.database)
    }

    func register(_ routes: ServiceRoutes) {
        routes.add(
            .get,
            "/api/clients",
            RouteSpec(
                summary: "The caller's clients with a wedding in a date range, with their guest counts",
                description: "Keyset-paginated in wedding date order; `nextCursor` fetches the next page.",
                tags: ["clients"],
                access: .tenant,
                queryParameters: [
                    QueryParameter(
                        "from",
                        schema: APIFields.daySchema,
                        description: "First wedding date (default: today)."
                    ),
                    QueryParameter(
                        "to",
                        schema: APIFields.daySchema,
                        description: "Last wedding date (default: from + 90 days); before from, an empty page."
                    ),
                    QueryParameter(
                        "status",
                        schema: .string(enumeration: Client.statuses),
                        description: "Only this status."
                    ),
                    ListParameters.search("a partner's name"),
                    ListParameters.limit,
                    QueryParameter(
                        "cursor",
                        schema: ClientCursor.schema,
                        description: "The previous page's nextCursor."
                    ),
                ],
                response: .of(ClientPage.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/clients") { principal in
                try await list(request, principal)
            }
        }

        routes.add(
            .get,
            "/api/clients/{id}",
            RouteSpec(
                summary: "One of the caller's clients",
                tags: ["clients"],
                access: .tenant,
                pathParameters: ["id": APIFields.idSchema],
                response: .of(Client.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/clients/{id}") { principal in
                let id = try Parameters.id(context)
                // Anyone else's client gets the same answer as no client.
                guard let client = try await store.client(id: id, organization: principal.organizationId) else {
                    throw ServiceError.notFound("no client \(id)")
                }
                return CachePolicy.standard.respond(
                    client,
                    tags: ["client:\(id)", "org:\(principal.organizationId)"],
                    request: request
                )
            }
        }

        routes.add(
            .patch,
            "/api/clients/{id}",
            RouteSpec(
                summary: "Change one of the caller's clients",
                description: "Send `If-Match` with the client's ETag to refuse a change made on stale data (412).",
                tags: ["clients"],
                access: .tenant,
                pathParameters: ["id": APIFields.idSchema],
                requestBody: .of(ClientPatch.self),
                response: .of(Client.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/clients/{id}") { principal in
                let id = try Parameters.id(context)
                let patch = try await request.decodeJSON(ClientPatch.self, context: context)
                return try await update(id: id, patch: patch, request: request, context: context, principal: principal)
            }
        }
    }

    private func list(_ request: Request, _ principal: Principal) async throws -> Response {
        let today = CalendarDay(daysSinceEpoch: Int(Date().timeIntervalSince1970 / 86_400))
        // Any range: a page is bounded by its limit (keyset pagination on the organization's wedding dates), and an
        // empty range (to before from) is an empty page.
        let from = try Parameters.day(request, "from") ?? today
        let to = try Parameters.day(request, "to") ?? from.adding(days: 90)
        let status = try Parameters.choice(request, "status", from: Client.statuses)
        let limit = try ListParameters.limit(request)
        let search = try ListParameters.search(request)
        let cursor = try request.uri.queryParameters.get("cursor").map { text in
            guard let cursor = ClientCursor(text) else {
                throw ServiceError.badRequest("cursor: not a cursor this API issued", code: "invalid_parameter")
            }
            return cursor
        }

        // One more than the page: whether there is a next page, without a count.
        var clients = try await store.clients(
            organization: principal.organizationId,
            from: from,
            to: to,
            status: status,
            matching: search,
            after: cursor.map { ($0.weddingDate, $0.id) },
            limit: limit + 1
        )
        var next: String?
        if clients.count > limit {
            clients.removeLast()
            next = clients.last.map { ClientCursor(weddingDate: $0.weddingDate, id: $0.id).description }
        }
        let organization = principal.organizationId
        let tags = ["org:\(organization)", "org:\(organization):clients"] + clients.map { "client:\($0.id)" }
        return CachePolicy.standard.respond(
            ClientPage(clients: clients, nextCursor: next),
            tags: tags,
            request: request
        )
    }

    /// `patch` with every field it names checked (a 400 naming the first that is not valid) and its text as stored.
    private static func validated(_ patch: ClientPatch) throws -> ClientPatch {
        var checked = ClientPatch()
        checked.partner1FirstName = try Parameters.text(
            patch.partner1FirstName,
            "partner1FirstName",
            APIFields.personName
        )
        checked.partner1LastName = try Parameters.text(patch.partner1LastName, "partner1LastName", APIFields.personName)
        checked.partner2FirstName = try Parameters.text(
            patch.partner2FirstName,
            "partner2FirstName",
            APIFields.optionalName
        )
        checked.partner2LastName = try Parameters.text(
            patch.partner2LastName,
            "partner2LastName",
            APIFields.optionalName
        )
        checked.email = try Parameters.email(patch.email, "email")
        checked.phone = try Parameters.text(patch.phone, "phone", APIFields.phone)
        if let date = patch.weddingDate {
            checked.weddingDate = try APIFields.check(date, "weddingDate")
        }
        checked.venueName = try Parameters.text(patch.venueName, "venueName", APIFields.optionalName)
        checked.venueCity = try Parameters.text(patch.venueCity, "venueCity", APIFields.optionalName)
        if let status = patch.status {
            guard Client.statuses.contains(status) else {
                throw ServiceError.badRequest(
                    "status: expected one of \(Client.statuses.joined(separator: ", "))",
                    code: "invalid_body"
                )
            }
            checked.status = status
        }
        if let estimate = patch.guestEstimate {
            checked.guestEstimate = try APIFields.check(estimate, in: APIFields.guestEstimate, "guestEstimate")
        }
        checked.notes = try Parameters.text(patch.notes, "notes", APIFields.notes)
        return checked
    }

    private func update(
        id: Int,
        patch: ClientPatch,
        request: Request,
        context: ServiceRequestContext,
        principal: Principal
    ) async throws -> Response {
        let patch = try Self.validated(patch)
        let organization = principal.organizationId
        let updated = try await store.update(
            id: id,
            with: patch,
            by: principal,
            requestID: context.requestID,
            precondition: { current in
                guard let condition = request.headers[.ifMatch] else { return }
                let etag = EntityTag.strong(of: try WedSyncJSON.makeEncoder().encode(current))
                guard etag.matches(ifMatch: condition) else {
                    throw ServiceError(
                        .preconditionFailed,
                        code: "precondition_failed",
                        message: "the client changed since that ETag"
                    )
                }
            },
            invalidating: { _ in ["client:\(id)", "org:\(organization):clients"] }
        )
        guard let updated else { throw ServiceError.notFound("no client \(id)") }
        // A patch naming no field wrote nothing: nothing to invalidate.
        if patch != ClientPatch() { environment.committed() }
        let body = try WedSyncJSON.makeEncoder().encode(updated)
        var response = Response.json(updated)
        response.headers[.eTag] = EntityTag.strong(of: body).description
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
