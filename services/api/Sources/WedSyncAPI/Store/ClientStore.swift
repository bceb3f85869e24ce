import Foundation
import WedSyncModels
import WedSyncPostgres

/// The clients resource (`/api/clients`): its statements and the decoding of their rows, in one place. Every
/// statement runs through ``RecordingDatabase``, so it is timed into the request's ``QueryLog``.
///
/// The statements themselves (``columns``, ``page(organization:from:to:status:search:after:limit:)``) are public so
/// benchmarks and the query optimizer's tests can run (and `EXPLAIN`) exactly what the API runs.
public struct ClientStore: Sendable {
    let database: RecordingDatabase

    init(database: RecordingDatabase) {
        self.database = database
    }

    /// The columns of a ``Client``, guest count included (an index-only count on `guests_client_id_idx`).
    public static let columns = """
        c.id, c.organization_id, c.partner1_first_name, c.partner1_last_name, c.partner2_first_name,
        c.partner2_last_name, c.email, c.phone, c.wedding_date, c.venue_name, c.venue_city, c.status,
        c.guest_estimate, (SELECT count(*) FROM guests g WHERE g.client_id = c.id) AS guest_count, c.notes, c.updated_at
        """

    /// One page of an organization's clients with a wedding from `from` to `to`, in (wedding date, id) order,
    /// after the keyset position `after`: one range scan of `clients_org_wedding_date_idx`, no offset, no sort.
    ///
    /// - Parameter search: a `LIKE` pattern on the lower-cased names (already escaped, with its `%`s).
    public static func page(
        organization: Int,
        from: CalendarDay,
        to: CalendarDay,
        status: String? = nil,
        search: String? = nil,
        after: (weddingDate: CalendarDay, id: Int)? = nil,
        limit: Int
    ) -> PostgresQuery {
        var binds: [any PostgresBindable] = [organization, from, to]
        var sql = """
            SELECT \(columns)
            FROM clients c
            WHERE c.organization_id = $1 AND c.wedding_date BETWEEN $2 AND $3 AND c.deleted_at IS NULL
            """
        if let status {
            binds.append(status)
            sql += " AND c.status = $\(binds.count)"
        }
        if let search {
            binds.append(search)
            sql += " AND c.search_name LIKE $\(binds.count)"
        }
        if let after {
            binds.append(after.weddingDate)
            binds.append(after.id)
            sql += " AND (c.wedding_date, c.id) > ($\(binds.count - 1)::date, $\(binds.count)::bigint)"
        }
        binds.append(limit)
        sql += " ORDER BY c.wedding_date, c.id LIMIT $\(binds.count)"
        return PostgresQuery(sql: sql, binds: binds)
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

    /// A ``Client`` from a row of ``columns``.
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

    /// Up to `limit` live clients of `organization` (the ``page(organization:from:to:status:search:after:limit:)``
    /// statement), read on a replica when there is one.
    ///
    /// - Parameter text: part of a partner's name, matched case-insensitively and literally (its `%` and `_` too).
    func clients(
        organization: Int,
        from: CalendarDay,
        to: CalendarDay,
        status: String?,
        matching text: String?,
        after: (weddingDate: CalendarDay, id: Int)?,
        limit: Int
    ) async throws -> [Client] {
        let query = Self.page(
            organization: organization,
            from: from,
            to: to,
            status: status,
            search: text.map { "%" + Self.escapeLike($0.lowercased()) + "%" },
            after: after,
            limit: limit
        )
        return try await database.read(query).map(Self.client(from:))
    }

    /// One live client of `organization`; `nil` for none, and for anyone else's (the same answer).
    func client(id: Int, organization: Int) async throws -> Client? {
        let query: PostgresQuery = """
            SELECT \(unescaped: Self.columns)
            FROM clients c
            WHERE c.id = \(id) AND c.organization_id = \(organization) AND c.deleted_at IS NULL
            """
        return try await database.read(query).first.map(Self.client(from:))
    }

    /// Changes a live client of the caller's organization, in one transaction: the row is locked and `precondition`
    /// checked against it as committed; then the fields `patch` names (already validated) are written, the change
    /// audited and the cache tags `invalidating` gives recorded in the ``InvalidationOutbox``. A patch naming no
    /// field writes nothing and returns the client as it is. `nil` when there is no such client.
    func update(
        id: Int,
        with patch: ClientPatch,
        by principal: Principal,
        requestID: String,
        precondition: (Client) throws -> Void,
        invalidating tags: (Client) -> [String]
    ) async throws -> Client? {
        // Column names come from here, never from the request.
        var changes = PatchBuilder()
        changes.set("partner1_first_name", patch.partner1FirstName)
        changes.set("partner1_last_name", patch.partner1LastName)
        changes.set("partner2_first_name", patch.partner2FirstName)
        changes.set("partner2_last_name", patch.partner2LastName)
        changes.set("email", patch.email)
        changes.set("phone", patch.phone)
        changes.set("wedding_date", patch.weddingDate)
        changes.set("venue_name", patch.venueName)
        changes.set("venue_city", patch.venueCity)
        changes.set("status", patch.status)
        changes.set("guest_estimate", patch.guestEstimate)
        changes.set("notes", patch.notes)

        let organization = principal.organizationId
        return try await database.transaction { transaction -> Client? in
            // Lock the row, and check the precondition against what is committed now.
            let current = try await transaction.query(
                """
                SELECT \(unescaped: Self.columns) FROM clients c
                WHERE c.id = \(id) AND c.organization_id = \(organization) AND c.deleted_at IS NULL
                FOR UPDATE
                """
            )
            guard let row = current.first else { return nil }
            let client = try Self.client(from: row)
            try precondition(client)
            // An empty patch changes nothing: the client as it is, with no write.
            guard !changes.isEmpty else { return client }
            let statement = changes.update(table: "clients", id: id, organization: organization)
            _ = try await transaction.query(statement)
            try await AuditLog.record(
                transaction,
                principal: principal,
                entity: "client",
                id: id,
                action: "update",
                fields: changes.fields,
                requestID: requestID
            )
            let rows = try await transaction.query(
                "SELECT \(unescaped: Self.columns) FROM clients c WHERE c.id = \(id)"
            )
            let updated = try Self.client(from: rows[0])
            try await InvalidationOutbox.record(transaction, tags: tags(updated), reason: "client updated")
            return updated
        }
    }
}
