import Foundation
import Hummingbird
import WedSyncModels
import WedSyncPostgres
import WedSyncServiceKit

/// `GET /api/guest-lists?client_id=`, `POST /api/guests`, `PATCH /api/guests/{id}`.
struct GuestRoutes {
    let environment: APIEnvironment

    static let columns = """
        g.id, g.guest_list_id, g.client_id, g.first_name, g.last_name, g.email, g.rsvp_status,
        g.dietary_requirements, g.table_number, g.plus_one, g.updated_at
        """

    static func guest(from row: PostgresRow) throws -> Guest {
        Guest(
            id: try row.decode(Int.self, at: 0),
            guestListId: try row.decode(Int.self, at: 1),
            clientId: try row.decode(Int.self, at: 2),
            firstName: try row.decode(String.self, at: 3),
            lastName: try row.decode(String.self, at: 4),
            email: try row.decode(String?.self, at: 5),
            rsvpStatus: try row.decode(String.self, at: 6),
            dietaryRequirements: try row.decode(String?.self, at: 7),
            tableNumber: try row.decode(Int?.self, at: 8),
            plusOne: try row.decode(Bool.self, at: 9),
            updatedAt: try row.decode(Date.self, at: 10)
        )
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
                let lists = try await guestLists(clientID: clientID, principal: principal)
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

    private func guestLists(clientID: Int, principal: Principal) async throws -> [GuestList] {
        let organization = principal.organizationId
        let lists = try await environment.database.read(
            """
            SELECT c.id, gl.id, gl.name
            FROM clients c LEFT JOIN guest_lists gl ON gl.client_id = c.id
            WHERE c.id = \(clientID) AND c.organization_id = \(organization) AND c.deleted_at IS NULL
            ORDER BY gl.id
            """
        )
        guard !lists.isEmpty else { throw ServiceError.notFound("no client \(clientID)") }
        let guests = try await environment.database.read(
            """
            SELECT \(unescaped: Self.columns) FROM guests g
            WHERE g.client_id = \(clientID) AND g.organization_id = \(organization)
            ORDER BY g.guest_list_id, g.last_name, g.first_name, g.id
            """
        ).map(Self.guest(from:))
        let byList = Dictionary(grouping: guests, by: \.guestListId)
        return try lists.compactMap { row -> GuestList? in
            guard let listID = try row.decode(Int?.self, at: 1) else { return nil }
            return GuestList(
                id: listID,
                clientId: clientID,
                name: try row.decode(String.self, at: 2),
                guests: byList[listID] ?? []
            )
        }
    }

    private func validatedRSVP(_ value: String?) throws -> String? {
        guard let value else { return nil }
        guard Guest.rsvpStatuses.contains(value) else {
            throw ServiceError.badRequest(
                "rsvpStatus: expected one of \(Guest.rsvpStatuses.joined(separator: ", "))",
                code: "invalid_body"
            )
        }
        return value
    }

    private func validatedTable(_ value: Int?) throws -> Int? {
        try value.map { value throws in try APIFields.check(value, in: APIFields.tableNumber, "tableNumber") }
    }

    private func create(_ body: GuestCreate, principal: Principal, requestID: String) async throws -> Response {
        guard APIFields.ids.contains(body.guestListId) else {
            throw ServiceError.badRequest("guestListId: expected a positive integer id", code: "invalid_body")
        }
        let first = try Parameters.text(body.firstName, "firstName", APIFields.personName)!
        let last = try Parameters.text(body.lastName, "lastName", APIFields.personName)!
        let email = try Parameters.email(body.email, "email")
        let rsvp = try validatedRSVP(body.rsvpStatus) ?? "pending"
        let dietary = try Parameters.text(
            body.dietaryRequirements,
            "dietaryRequirements",
            APIFields.dietaryRequirements
        )
        let table = try validatedTable(body.tableNumber)
        let organization = principal.organizationId

        let guest = try await environment.database.transaction { transaction -> Guest in
            let rows = try await transaction.query(
                """
                INSERT INTO guests (guest_list_id, client_id, organization_id, first_name, last_name, email, rsvp_status,
                                    dietary_requirements, table_number, plus_one)
                SELECT gl.id, gl.client_id, gl.organization_id, \(first), \(last), \(email), \(rsvp), \(dietary), \(table), \(body.plusOne ?? false)
                FROM guest_lists gl
                WHERE gl.id = \(body.guestListId) AND gl.organization_id = \(organization)
                RETURNING id, guest_list_id, client_id, first_name, last_name, email, rsvp_status, dietary_requirements,
                          table_number, plus_one, updated_at
                """
            )
            guard let row = rows.first else { throw ServiceError.notFound("no guest list \(body.guestListId)") }
            let guest = try Self.guest(from: row)
            try await ClientRoutes.audit(
                transaction,
                principal: principal,
                entity: "guest",
                id: guest.id,
                action: "create",
                fields: [],
                requestID: requestID
            )
            try await InvalidationOutbox.record(
                transaction,
                tags: ["guest-list:\(guest.guestListId)", "client:\(guest.clientId)"],
                reason: "guest added"
            )
            return guest
        }
        environment.committed()
        var response = Response.json(guest, status: .created)
        response.headers[.location] = "/api/guests/\(guest.id)"
        response.headers[.cacheControl] = "no-store"
        return response
    }

    private func update(id: Int, patch: GuestPatch, principal: Principal, requestID: String) async throws -> Response {
        var changes = PatchBuilder()
        changes.set("first_name", try Parameters.text(patch.firstName, "firstName", APIFields.personName))
        changes.set("last_name", try Parameters.text(patch.lastName, "lastName", APIFields.personName))
        changes.set("email", try Parameters.email(patch.email, "email"))
        changes.set("rsvp_status", try validatedRSVP(patch.rsvpStatus))
        changes.set(
            "dietary_requirements",
            try Parameters.text(patch.dietaryRequirements, "dietaryRequirements", APIFields.dietaryRequirements)
        )
        changes.set("table_number", try validatedTable(patch.tableNumber))
        changes.set("plus_one", patch.plusOne)
        let organization = principal.organizationId
        guard !changes.isEmpty else {
            // An empty patch changes nothing: the guest as it is, with no write.
            let rows = try await environment.database.readPrimary(
                "SELECT \(unescaped: Self.columns) FROM guests g WHERE g.id = \(id) AND g.organization_id = \(organization)"
            )
            guard let row = rows.first else { throw ServiceError.notFound("no guest \(id)") }
            var response = Response.json(try Self.guest(from: row))
            response.headers[.cacheControl] = "no-store"
            return response
        }

        let guest = try await environment.database.transaction { transaction -> Guest in
            var statement = changes.update(table: "guests", id: id, organization: organization)
            statement.sql +=
                " RETURNING id, guest_list_id, client_id, first_name, last_name, email, rsvp_status, "
                + "dietary_requirements, table_number, plus_one, updated_at"
            guard let row = try await transaction.query(statement).first else {
                throw ServiceError.notFound("no guest \(id)")
            }
            try await ClientRoutes.audit(
                transaction,
                principal: principal,
                entity: "guest",
                id: id,
                action: "update",
                fields: changes.fields,
                requestID: requestID
            )
            let guest = try Self.guest(from: row)
            try await InvalidationOutbox.record(
                transaction,
                tags: ["guest-list:\(guest.guestListId)", "client:\(guest.clientId)"],
                reason: "guest updated"
            )
            return guest
        }
        environment.committed()
        var response = Response.json(guest)
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
