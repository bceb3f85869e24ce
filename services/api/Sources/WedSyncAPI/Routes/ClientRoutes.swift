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
    /// The widest date range one request may ask for.
    static let maximumRangeDays = 3 * 366

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
                    QueryParameter("from", schema: .string(format: "date"), description: "First wedding date (default: today)."),
                    QueryParameter("to", schema: .string(format: "date"), description: "Last wedding date (default: from + 90 days)."),
                    QueryParameter("status", schema: .string(enumeration: Client.statuses), description: "Only this status."),
                    QueryParameter("q", description: "Part of a partner's name (3 to 100 characters)."),
                    QueryParameter("limit", schema: .integer(minimum: 1, maximum: Self.maximumLimit), description: "Page size (default 50)."),
                    QueryParameter("cursor", description: "The previous page's nextCursor."),
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
            RouteSpec(summary: "One of the caller's clients", tags: ["clients"], access: .tenant, response: .of(Client.self))
        ) { request, context in
            try await environment.handle(request, context, route: "/api/clients/{id}") { principal in
                let id = try Parameters.id(context)
                let client = try await fetch(id: id, principal: principal, primary: false)
                return CachePolicy.standard.respond(client, tags: ["client:\(id)", "org:\(principal.organizationId)"], request: request)
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
        let from = try Parameters.day(request, "from") ?? today
        let to = try Parameters.day(request, "to") ?? from.adding(days: 90)
        guard from <= to else {
            throw ServiceError.badRequest("from: must not be after to", code: "invalid_parameter")
        }
        guard to.daysSinceEpoch - from.daysSinceEpoch <= Self.maximumRangeDays else {
            throw ServiceError.badRequest("to: the range may span at most \(Self.maximumRangeDays) days", code: "invalid_parameter")
        }
        let status = try Parameters.choice(request, "status", from: Client.statuses)
        let limit = try Parameters.optionalInt(request, "limit", in: 1...Self.maximumLimit) ?? Self.defaultLimit
        var search: String?
        if let q = request.uri.queryParameters.get("q") {
            let trimmed = q.trimmingCharacters(in: .whitespaces).lowercased()
            guard (3...100).contains(trimmed.count) else {
                throw ServiceError.badRequest("q: expected 3 to 100 characters", code: "invalid_parameter")
            }
            search = "%" + Self.escapeLike(trimmed) + "%"
        }
        let cursor = try request.uri.queryParameters.get("cursor").map { text in
            guard let cursor = ClientCursor(text) else {
                throw ServiceError.badRequest("cursor: not a cursor this API issued", code: "invalid_parameter")
            }
            return cursor
        }

        let query = ClientQueries.page(
            organization: principal.organizationId, from: from, to: to, status: status, search: search,
            after: cursor.map { ($0.weddingDate, $0.id) }, limit: limit + 1
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
        return CachePolicy.standard.respond(ClientPage(clients: clients, nextCursor: next), tags: tags, request: request)
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
        changes.set("partner1_first_name", try Parameters.text(patch.partner1FirstName, "partner1FirstName", nonEmpty: true))
        changes.set("partner1_last_name", try Parameters.text(patch.partner1LastName, "partner1LastName", nonEmpty: true))
        changes.set("partner2_first_name", try Parameters.text(patch.partner2FirstName, "partner2FirstName"))
        changes.set("partner2_last_name", try Parameters.text(patch.partner2LastName, "partner2LastName"))
        changes.set("email", try Parameters.email(patch.email, "email"))
        changes.set("phone", try Parameters.text(patch.phone, "phone", limit: 40))
        if let date = patch.weddingDate {
            guard (1900...2200).contains(date.year) else {
                throw ServiceError.badRequest("weddingDate: expected a year from 1900 to 2200", code: "invalid_body")
            }
            changes.set("wedding_date", date)
        }
        changes.set("venue_name", try Parameters.text(patch.venueName, "venueName"))
        changes.set("venue_city", try Parameters.text(patch.venueCity, "venueCity"))
        if let status = patch.status {
            guard Client.statuses.contains(status) else {
                throw ServiceError.badRequest("status: expected one of \(Client.statuses.joined(separator: ", "))", code: "invalid_body")
            }
            changes.set("status", status)
        }
        if let estimate = patch.guestEstimate {
            guard (0...10_000).contains(estimate) else {
                throw ServiceError.badRequest("guestEstimate: expected 0 to 10000", code: "invalid_body")
            }
            changes.set("guest_estimate", estimate)
        }
        changes.set("notes", try Parameters.text(patch.notes, "notes", limit: 5_000))
        try changes.validate()

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
                    throw ServiceError(.preconditionFailed, code: "precondition_failed", message: "the client changed since that ETag")
                }
            }
            let statement = changes.update(table: "clients", id: id, organization: organization)
            _ = try await transaction.query(statement)
            try await Self.audit(transaction, principal: principal, entity: "client", id: id, action: "update", fields: changes.fields, requestID: context.requestID)
            let rows = try await transaction.query(
                "SELECT \(unescaped: ClientQueries.columns) FROM clients c WHERE c.id = \(id)"
            )
            try await InvalidationOutbox.record(transaction, tags: ["client:\(id)", "org:\(organization):clients"], reason: "client updated")
            return try Self.client(from: rows[0])
        }
        environment.committed()
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

/// The position after the last client of a page: its wedding date and id, as `YYYY-MM-DD.id` in base64url.
struct ClientCursor: CustomStringConvertible {
    var weddingDate: CalendarDay
    var id: Int

    init(weddingDate: CalendarDay, id: Int) {
        self.weddingDate = weddingDate
        self.id = id
    }

    init?(_ text: String) {
        guard text.count <= 64, let data = Data(base64URLEncoded: text), let plain = String(data: data, encoding: .utf8) else {
            return nil
        }
        let parts = plain.split(separator: ".")
        guard parts.count == 2, let day = CalendarDay(parts[0]), let id = Int(parts[1]), id > 0 else { return nil }
        self.init(weddingDate: day, id: id)
    }

    var description: String {
        Data("\(weddingDate).\(id)".utf8).base64URLEncodedString()
    }
}
