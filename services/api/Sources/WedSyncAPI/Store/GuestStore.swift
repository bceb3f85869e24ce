import Foundation
import WedSyncModels
import WedSyncPostgres

/// The guests resource (`/api/guest-lists`, `/api/guests`): its statements and the decoding of their rows, in one
/// place. Every statement runs through ``RecordingDatabase``, so it is timed into the request's ``QueryLog``.
struct GuestStore: Sendable {
    let database: RecordingDatabase

    /// The columns of a ``Guest``.
    static let columns = """
        g.id, g.guest_list_id, g.client_id, g.first_name, g.last_name, g.email, g.rsvp_status,
        g.dietary_requirements, g.table_number, g.plus_one, g.updated_at
        """

    /// A ``Guest`` from a row of ``columns`` (or of a write's `RETURNING` list, in the same order).
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

    /// The guest lists of a live client of `organization`, each with its guests; `nil` when there is no such
    /// client. Two statements whatever the number of lists.
    func lists(client clientID: Int, organization: Int) async throws -> [GuestList]? {
        let lists = try await database.read(
            """
            SELECT c.id, gl.id, gl.name
            FROM clients c LEFT JOIN guest_lists gl ON gl.client_id = c.id
            WHERE c.id = \(clientID) AND c.organization_id = \(organization) AND c.deleted_at IS NULL
            ORDER BY gl.id
            """
        )
        guard !lists.isEmpty else { return nil }
        let guests = try await database.read(
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

    /// Adds `guest` (already validated) to one of the caller's guest lists, in one transaction with its audit entry
    /// and the cache tags `invalidating` gives (``InvalidationOutbox``). No RSVP is `pending`, no plus-one `false`.
    /// `nil` when the caller's organization has no such guest list.
    func create(
        _ guest: GuestCreate,
        by principal: Principal,
        requestID: String,
        invalidating tags: (Guest) -> [String]
    ) async throws -> Guest? {
        let organization = principal.organizationId
        let rsvp = guest.rsvpStatus ?? "pending"
        let plusOne = guest.plusOne ?? false
        return try await database.transaction { transaction -> Guest? in
            let rows = try await transaction.query(
                """
                INSERT INTO guests (guest_list_id, client_id, organization_id, first_name, last_name, email, rsvp_status,
                                    dietary_requirements, table_number, plus_one)
                SELECT gl.id, gl.client_id, gl.organization_id, \(guest.firstName), \(guest.lastName), \(guest.email), \(rsvp), \(guest.dietaryRequirements), \(guest.tableNumber), \(plusOne)
                FROM guest_lists gl
                WHERE gl.id = \(guest.guestListId) AND gl.organization_id = \(organization)
                RETURNING id, guest_list_id, client_id, first_name, last_name, email, rsvp_status, dietary_requirements,
                          table_number, plus_one, updated_at
                """
            )
            guard let row = rows.first else { return nil }
            let created = try Self.guest(from: row)
            try await AuditLog.record(
                transaction,
                principal: principal,
                entity: "guest",
                id: created.id,
                action: "create",
                fields: [],
                requestID: requestID
            )
            try await InvalidationOutbox.record(transaction, tags: tags(created), reason: "guest added")
            return created
        }
    }

    /// Changes a guest of the caller's organization: the fields `patch` names (already validated), in one
    /// transaction with its audit entry and the cache tags `invalidating` gives (``InvalidationOutbox``). A patch
    /// naming no field writes nothing and returns the guest as it is, read on the primary. `nil` when the caller's
    /// organization has no such guest.
    func update(
        id: Int,
        with patch: GuestPatch,
        by principal: Principal,
        requestID: String,
        invalidating tags: (Guest) -> [String]
    ) async throws -> Guest? {
        // Column names come from here, never from the request.
        var changes = PatchBuilder()
        changes.set("first_name", patch.firstName)
        changes.set("last_name", patch.lastName)
        changes.set("email", patch.email)
        changes.set("rsvp_status", patch.rsvpStatus)
        changes.set("dietary_requirements", patch.dietaryRequirements)
        changes.set("table_number", patch.tableNumber)
        changes.set("plus_one", patch.plusOne)
        let organization = principal.organizationId
        guard !changes.isEmpty else {
            // An empty patch changes nothing: the guest as it is, with no write.
            let rows = try await database.readPrimary(
                "SELECT \(unescaped: Self.columns) FROM guests g WHERE g.id = \(id) AND g.organization_id = \(organization)"
            )
            return try rows.first.map(Self.guest(from:))
        }

        return try await database.transaction { transaction -> Guest? in
            var statement = changes.update(table: "guests", id: id, organization: organization)
            statement.sql +=
                " RETURNING id, guest_list_id, client_id, first_name, last_name, email, rsvp_status, "
                + "dietary_requirements, table_number, plus_one, updated_at"
            guard let row = try await transaction.query(statement).first else { return nil }
            try await AuditLog.record(
                transaction,
                principal: principal,
                entity: "guest",
                id: id,
                action: "update",
                fields: changes.fields,
                requestID: requestID
            )
            let guest = try Self.guest(from: row)
            try await InvalidationOutbox.record(transaction, tags: tags(guest), reason: "guest updated")
            return guest
        }
    }
}
