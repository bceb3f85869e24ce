import Foundation
import Hummingbird
import WedSyncModels
import WedSyncPostgres
import WedSyncServiceKit

/// `GET /api/clients`, `GET /api/clients/{id}`, `PATCH /api/clients/{id}`.
struct ClientRoutes {
    let environment: APIEnvironment

    static func client(from row: PostgresRow) throws -> Client {
        Client(
            id: try row.decode(Int.self, at: 0),
            organizationId: try row.decode(Int.self, at: 1),
            partner1FirstName: try row.decode(String.self, at: 2),
            partner1LastName: try row.decode(String.self, at: 3),
            partner2FirstName: try row.decode(String?.self, at: 4),
            partner2LastName: try row.decode(String?.self, at: 5),
            email: try row.decode(String?.self, at: 6),
            phone: try row.decode(String?.self, at: 7),
            weddingDate: try row.decode(CalendarDay.self, at: 8),
            venueName: try row.decode(String?.self, at: 9),
            venueCity: try row.decode(String?.self, at: 10),
            status: try row.decode(String.self, at: 11),
            guestEstimate: try row.decode(Int?.self, at: 12),
            guestCount: try row.decode(Int.self, at: 13),
            notes: try row.decode(String?.self, at: 14),
            updatedAt: try row.decode(Date.self, at: 15)
        )
    }

    static let defaultLimit = 50
    static let maximumLimit = 200

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
                    QueryParameter(
                        "q",
                        schema: APIFields.search.schema,
                        description: "Part of a partner's name (3 to 100 characters)."
                    ),
                    QueryParameter(
                        "limit",
                        schema: .integer(minimum: 1, maximum: Self.maximumLimit),
                        description: "Page size (default 50)."
                    ),
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
                let client = try await fetch(id: id, principal: principal, primary: false)
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
        let limit = try request.integerQuery("limit", in: 1...Self.maximumLimit) ?? Self.defaultLimit
        var search: String?
        if let q = request.uri.queryParameters.get("q") {
            search =
                "%" + Self.escapeLike(try APIFields.search.check(q, "q", code: "invalid_parameter").lowercased()) + "%"
        }
        let cursor = try request.uri.queryParameters.get("cursor").map { text in
            guard let cursor = ClientCursor(text) else {
                throw ServiceError.badRequest("cursor: not a cursor this API issued", code: "invalid_parameter")
            }
            return cursor
        }

        let query = ClientQueries.page(
            organization: principal.organizationId,
            from: from,
            to: to,
            status: status,
            search: search,
            after: cursor.map { ($0.weddingDate, $0.id) },
            limit: limit + 1
        )
        let rows = try await environment.database.read(query)
        var clients = try rows.map(Self.client(from:))
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

    /// `LIKE` wildcards in user text match themselves.
    static func escapeLike(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    /// One live client of the caller's organization; 404 for anyone else's (the same answer as for no client).
    func fetch(id: Int, principal: Principal, primary: Bool) async throws -> Client {
        let query: PostgresQuery = """
            SELECT \(unescaped: ClientQueries.columns)
            FROM clients c
            WHERE c.id = \(id) AND c.organization_id = \(principal.organizationId) AND c.deleted_at IS NULL
            """
        let rows = try await primary ? environment.database.readPrimary(query) : environment.database.read(query)
        guard let row = rows.first else { throw ServiceError.notFound("no client \(id)") }
        return try Self.client(from: row)
    }

    private func update(
        id: Int,
        patch: ClientPatch,
        request: Request,
        context: ServiceRequestContext,
        principal: Principal
    ) async throws -> Response {
        var changes = PatchBuilder()
        changes.set(
            "partner1_first_name",
            try Parameters.text(patch.partner1FirstName, "partner1FirstName", APIFields.personName)
        )
        changes.set(
            "partner1_last_name",
            try Parameters.text(patch.partner1LastName, "partner1LastName", APIFields.personName)
        )
        changes.set(
            "partner2_first_name",
            try Parameters.text(patch.partner2FirstName, "partner2FirstName", APIFields.optionalName)
        )
        changes.set(
            "partner2_last_name",
            try Parameters.text(patch.partner2LastName, "partner2LastName", APIFields.optionalName)
        )
        changes.set("email", try Parameters.email(patch.email, "email"))
        changes.set("phone", try Parameters.text(patch.phone, "phone", APIFields.phone))
        if let date = patch.weddingDate {
            changes.set("wedding_date", try APIFields.check(date, "weddingDate"))
        }
        changes.set("venue_name", try Parameters.text(patch.venueName, "venueName", APIFields.optionalName))
        changes.set("venue_city", try Parameters.text(patch.venueCity, "venueCity", APIFields.optionalName))
        if let status = patch.status {
            guard Client.statuses.contains(status) else {
                throw ServiceError.badRequest(
                    "status: expected one of \(Client.statuses.joined(separator: ", "))",
                    code: "invalid_body"
                )
            }
            changes.set("status", status)
        }
        if let estimate = patch.guestEstimate {
            changes.set("guest_estimate", try APIFields.check(estimate, in: APIFields.guestEstimate, "guestEstimate"))
        }
        changes.set("notes", try Parameters.text(patch.notes, "notes", APIFields.notes))

        let organization = principal.organizationId
        let updated = try await environment.database.transaction { transaction -> Client in
            // Lock the row, and check the precondition against what is committed now.
            let current = try await transaction.query(
                """
                SELECT \(unescaped: ClientQueries.columns) FROM clients c
                WHERE c.id = \(id) AND c.organization_id = \(organization) AND c.deleted_at IS NULL
                FOR UPDATE
                """
            )
            guard let row = current.first else { throw ServiceError.notFound("no client \(id)") }
            if let condition = request.headers[.ifMatch] {
                let etag = EntityTag.strong(of: try WedSyncJSON.makeEncoder().encode(try Self.client(from: row)))
                guard etag.matches(ifMatch: condition) else {
                    throw ServiceError(
                        .preconditionFailed,
                        code: "precondition_failed",
                        message: "the client changed since that ETag"
                    )
                }
            }
            // An empty patch changes nothing: the client as it is, with no write.
            guard !changes.isEmpty else { return try Self.client(from: row) }
            let statement = changes.update(table: "clients", id: id, organization: organization)
            _ = try await transaction.query(statement)
            try await Self.audit(
                transaction,
                principal: principal,
                entity: "client",
                id: id,
                action: "update",
                fields: changes.fields,
                requestID: context.requestID
            )
            let rows = try await transaction.query(
                "SELECT \(unescaped: ClientQueries.columns) FROM clients c WHERE c.id = \(id)"
            )
            try await InvalidationOutbox.record(
                transaction,
                tags: ["client:\(id)", "org:\(organization):clients"],
                reason: "client updated"
            )
            return try Self.client(from: rows[0])
        }
        if !changes.isEmpty { environment.committed() }
        let body = try WedSyncJSON.makeEncoder().encode(updated)
        var response = Response.json(updated)
        response.headers[.eTag] = EntityTag.strong(of: body).description
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// Records a change in `audit_log`: field names only, never values.
    static func audit(
        _ transaction: RecordingDatabase.Transaction,
        principal: Principal,
        entity: String,
        id: Int,
        action: String,
        fields: [String],
        requestID: String
    ) async throws {
        _ = try await transaction.query(
            """
            INSERT INTO audit_log (organization_id, supplier_id, entity_type, entity_id, action, changed_fields, request_id)
            VALUES (\(principal.organizationId), \(principal.supplierId), \(entity), \(id), \(action), \(fields)::text[], \(requestID))
            """
        )
    }
}

/// The position after the last client of a page: its wedding date and id, as `DAYS.ID`.
struct ClientCursor: CustomStringConvertible {
    var weddingDate: CalendarDay
    var id: Int

    init(weddingDate: CalendarDay, id: Int) {
        self.weddingDate = weddingDate
        self.id = id
    }

    /// `DAYS.ID`: the wedding date as days since 1970-01-01 (negative before it: the API takes years from 1900) and the
    /// last client's id (up to 2^53 - 1: 16 digits), both as the page ended.
    static let schema = JSONSchema.text(3...23, pattern: #"^-?[0-9]{1,5}\.[1-9][0-9]{0,15}$"#)

    init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let day = parts[0].hasPrefix("-") ? parts[0].dropFirst() : parts[0]
        guard (1...5).contains(day.count), (1...16).contains(parts[1].count), !parts[1].hasPrefix("0"),
            [day, parts[1]].allSatisfy({ $0.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }),
            let days = Int(parts[0]), let id = Int(parts[1])
        else { return nil }
        self.init(weddingDate: CalendarDay(daysSinceEpoch: days), id: id)
    }

    var description: String {
        "\(weddingDate.daysSinceEpoch).\(id)"
    }
}
