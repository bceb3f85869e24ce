import Foundation
import Hummingbird
import WedSyncModels
import WedSyncServiceKit

/// `GET /api/guest-lists?client_id=`, `POST /api/guests`, `PATCH /api/guests/{id}`: parameters, status codes and
/// cache headers; the statements are ``GuestStore``'s.
struct GuestRoutes {
    let environment: APIEnvironment
    let store: GuestStore

    init(environment: APIEnvironment) {
        self.environment = environment
        self.store = GuestStore(database: environment.database)
    }

    func register(_ routes: ServiceRoutes) {
        routes.add(
            .get,
            "/api/guest-lists",
            RouteSpec(
                summary: "A client's guest lists with their guests",
                tags: ["guests"],
                access: .tenant,
                queryParameters: [
                    QueryParameter("client_id", schema: APIFields.idSchema, required: true, description: "The client.")
                ],
                response: .of(GuestListsResponse.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/guest-lists") { principal in
                let clientID = try Parameters.requiredID(request, "client_id")
                guard let lists = try await store.lists(client: clientID, organization: principal.organizationId)
                else {
                    throw ServiceError.notFound("no client \(clientID)")
                }
                let tags =
                    ["org:\(principal.organizationId)", "client:\(clientID)"] + lists.map { "guest-list:\($0.id)" }
                return CachePolicy.standard.respond(
                    GuestListsResponse(clientId: clientID, guestLists: lists),
                    tags: tags,
                    request: request
                )
            }
        }

        routes.add(
            .post,
            "/api/guests",
            RouteSpec(
                summary: "Add a guest to one of the caller's guest lists",
                tags: ["guests"],
                access: .tenant,
                requestBody: .of(GuestCreate.self),
                response: .of(Guest.self),
                successStatus: 201
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/guests") { principal in
                let body = try await request.decodeJSON(GuestCreate.self, context: context)
                return try await create(body, principal: principal, requestID: context.requestID)
            }
        }

        routes.add(
            .patch,
            "/api/guests/{id}",
            RouteSpec(
                summary: "Change a guest: RSVP, dietary needs, table...",
                tags: ["guests"],
                access: .tenant,
                pathParameters: ["id": APIFields.idSchema],
                requestBody: .of(GuestPatch.self),
                response: .of(Guest.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/guests/{id}") { principal in
                let id = try Parameters.id(context)
                let patch = try await request.decodeJSON(GuestPatch.self, context: context)
                return try await update(id: id, patch: patch, principal: principal, requestID: context.requestID)
            }
        }
    }

    /// The cache tags a change to `guest` makes stale.
    private static func tags(of guest: Guest) -> [String] {
        ["guest-list:\(guest.guestListId)", "client:\(guest.clientId)"]
    }

    private static func validatedRSVP(_ value: String?) throws -> String? {
        guard let value else { return nil }
        guard Guest.rsvpStatuses.contains(value) else {
            throw ServiceError.badRequest(
                "rsvpStatus: expected one of \(Guest.rsvpStatuses.joined(separator: ", "))",
                code: "invalid_body"
            )
        }
        return value
    }

    private static func validatedTable(_ value: Int?) throws -> Int? {
        try value.map { value throws in try APIFields.check(value, in: APIFields.tableNumber, "tableNumber") }
    }

    /// `body` with every field checked (a 400 naming the first that is not valid) and its text as stored.
    private static func validated(_ body: GuestCreate) throws -> GuestCreate {
        guard APIFields.ids.contains(body.guestListId) else {
            throw ServiceError.badRequest("guestListId: expected a positive integer id", code: "invalid_body")
        }
        // The same checks as a patch naming every field, in the same order.
        let patch = try validated(
            GuestPatch(
                firstName: body.firstName,
                lastName: body.lastName,
                email: body.email,
                rsvpStatus: body.rsvpStatus,
                dietaryRequirements: body.dietaryRequirements,
                tableNumber: body.tableNumber,
                plusOne: body.plusOne
            )
        )
        var checked = body
        checked.firstName = patch.firstName ?? body.firstName
        checked.lastName = patch.lastName ?? body.lastName
        checked.email = patch.email
        checked.rsvpStatus = patch.rsvpStatus
        checked.dietaryRequirements = patch.dietaryRequirements
        checked.tableNumber = patch.tableNumber
        return checked
    }

    /// `patch` with every field it names checked (a 400 naming the first that is not valid) and its text as stored.
    private static func validated(_ patch: GuestPatch) throws -> GuestPatch {
        var checked = patch
        checked.firstName = try Parameters.text(patch.firstName, "firstName", APIFields.personName)
        checked.lastName = try Parameters.text(patch.lastName, "lastName", APIFields.personName)
        checked.email = try Parameters.email(patch.email, "email")
        checked.rsvpStatus = try validatedRSVP(patch.rsvpStatus)
        checked.dietaryRequirements = try Parameters.text(
            patch.dietaryRequirements,
            "dietaryRequirements",
            APIFields.dietaryRequirements
        )
        checked.tableNumber = try validatedTable(patch.tableNumber)
        return checked
    }

    private func create(_ body: GuestCreate, principal: Principal, requestID: String) async throws -> Response {
        let body = try Self.validated(body)
        guard
            let guest = try await store.create(body, by: principal, requestID: requestID, invalidating: Self.tags(of:))
        else {
            throw ServiceError.notFound("no guest list \(body.guestListId)")
        }
        environment.committed()
        var response = Response.json(guest, status: .created)
        response.headers[.location] = "/api/guests/\(guest.id)"
        response.headers[.cacheControl] = "no-store"
        return response
    }

    private func update(id: Int, patch: GuestPatch, principal: Principal, requestID: String) async throws -> Response {
        let patch = try Self.validated(patch)
        guard
            let guest = try await store.update(
                id: id,
                with: patch,
                by: principal,
                requestID: requestID,
                invalidating: Self.tags(of:)
            )
        else {
            throw ServiceError.notFound("no guest \(id)")
        }
        // A patch naming no field wrote nothing: nothing to invalidate.
        if patch != GuestPatch() { environment.committed() }
        var response = Response.json(guest)
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
