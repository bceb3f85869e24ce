import Foundation
import WedSyncModels
import WedSyncPostgres

/// The vendors resource (`/api/vendors`, `/api/vendor-contacts`): its statements and the decoding of their rows,
/// in one place. Every statement runs through ``RecordingDatabase``, so it is timed into the request's
/// ``QueryLog``. A page or a vendor takes two statements, whatever the number of contacts.
struct VendorStore: Sendable {
    let database: RecordingDatabase

    /// The columns of a ``Vendor`` (its contacts come from a second statement).
    static let columns = "v.id, v.name, v.category, v.website"
    /// The columns of a ``VendorContact``.
    static let contactColumns = "vc.id, vc.vendor_id, vc.name, vc.email, vc.phone, vc.role"

    static func contact(from row: PostgresRow) throws -> VendorContact {
        VendorContact(
            id: try row.decode(Int.self, at: 0),
            vendorId: try row.decode(Int.self, at: 1),
            name: try row.decode(String.self, at: 2),
            email: try row.decode(String?.self, at: 3),
            phone: try row.decode(String?.self, at: 4),
            role: try row.decode(String?.self, at: 5)
        )
    }

    /// Vendors from rows of ``columns``, each with its contacts (read in one statement, on the same database).
    private func vendors(from rows: PostgresRows, organization: Int, primary: Bool = false) async throws -> [Vendor] {
        guard !rows.isEmpty else { return [] }
        let ids = try rows.map { try $0.decode(Int.self, at: 0) }
        let query: PostgresQuery = """
            SELECT \(unescaped: Self.contactColumns)
            FROM vendor_contacts vc JOIN vendors v ON v.id = vc.vendor_id
            WHERE v.organization_id = \(organization) AND vc.vendor_id = ANY(\(ids)::bigint[])
            ORDER BY vc.vendor_id, vc.id
            """
        let contacts = try await (primary ? database.readPrimary(query) : database.read(query)).map(Self.contact(from:))
        let byVendor = Dictionary(grouping: contacts, by: \.vendorId)
        return try rows.map { row in
            let id = try row.decode(Int.self, at: 0)
            return Vendor(
                id: id,
                name: try row.decode(String.self, at: 1),
                category: try row.decode(String.self, at: 2),
                website: try row.decode(String?.self, at: 3),
                contacts: byVendor[id] ?? []
            )
        }
    }

    /// Up to `limit` vendors of `organization` after the id `after`, in id order, of `category` when given, whose name
    /// contains `text` (case-insensitively and literally, its `%` and `_` too) when given. Read on a replica when
    /// there is one.
    func vendors(organization: Int, category: String?, matching text: String?, after: Int?, limit: Int)
        async throws -> [Vendor]
    {
        var binds: [any PostgresBindable] = [organization]
        var sql = "SELECT \(Self.columns) FROM vendors v WHERE v.organization_id = $1"
        if let category {
            binds.append(category)
            sql += " AND v.category = $\(binds.count)"
        }
        if let text {
            binds.append("%" + ClientStore.escapeLike(text.lowercased()) + "%")
            sql += " AND lower(v.name) LIKE $\(binds.count)"
        }
        if let after {
            binds.append(after)
            sql += " AND v.id > $\(binds.count)"
        }
        binds.append(limit)
        sql += " ORDER BY v.id LIMIT $\(binds.count)"
        let rows = try await database.read(PostgresQuery(sql: sql, binds: binds))
        return try await vendors(from: rows, organization: organization)
    }

    /// One vendor of `organization` with its contacts; `nil` for none, and for anyone else's (the same answer).
    func vendor(id: Int, organization: Int, primary: Bool = false) async throws -> Vendor? {
        let query: PostgresQuery = """
            SELECT \(unescaped: Self.columns) FROM vendors v WHERE v.id = \(id) AND v.organization_id = \(organization)
            """
        let rows = try await primary ? database.readPrimary(query) : database.read(query)
        return try await vendors(from: rows, organization: organization, primary: primary).first
    }

    /// Changes a vendor of the caller's organization: the fields `patch` names (already validated), in one
    /// transaction with its audit entry and the cache tags `invalidating` gives (``InvalidationOutbox``). `nil` when
    /// the organization has no such vendor. The vendor is read back on the primary, contacts and all.
    func update(
        id: Int,
        with patch: VendorPatch,
        by principal: Principal,
        requestID: String,
        invalidating tags: [String]
    ) async throws -> Vendor? {
        var changes = PatchBuilder()
        changes.set("name", patch.name)
        changes.set("category", patch.category)
        changes.set("website", patch.website)
        let organization = principal.organizationId
        if !changes.isEmpty {
            let found = try await database.transaction { transaction -> Bool in
                var statement = changes.update(
                    table: "vendors",
                    id: id,
                    organization: organization,
                    stampsUpdatedAt: false
                )
                statement.sql += " RETURNING id"
                guard try await !transaction.query(statement).isEmpty else { return false }
                try await AuditLog.record(
                    transaction,
                    principal: principal,
                    entity: "vendor",
                    id: id,
                    action: "update",
                    fields: changes.fields,
                    requestID: requestID
                )
                try await InvalidationOutbox.record(transaction, tags: tags, reason: "vendor updated")
                return true
            }
            guard found else { return nil }
        }
        return try await vendor(id: id, organization: organization, primary: true)
    }

    /// Changes a contact of one of the caller's vendors, as ``update(id:with:by:requestID:invalidating:)`` does a
    /// vendor; `invalidating` gets the contact's vendor. `nil` when no vendor of the organization has that contact.
    func updateContact(
        id: Int,
        with patch: VendorContactPatch,
        by principal: Principal,
        requestID: String,
        invalidating tags: @escaping (_ vendorID: Int) -> [String]
    ) async throws -> VendorContact? {
        var changes = PatchBuilder()
        changes.set("name", patch.name)
        changes.set("email", patch.email)
        changes.set("phone", patch.phone)
        changes.set("role", patch.role)
        let organization = principal.organizationId
        let owned: PostgresQuery = """
            SELECT \(unescaped: Self.contactColumns)
            FROM vendor_contacts vc JOIN vendors v ON v.id = vc.vendor_id
            WHERE vc.id = \(id) AND v.organization_id = \(organization)
            """
        guard !changes.isEmpty else { return try await database.readPrimary(owned).first.map(Self.contact(from:)) }
        return try await database.transaction { transaction -> VendorContact? in
            // Only a contact of one of the caller's vendors: checked and locked before the write.
            var locked = owned
            locked.sql += " FOR UPDATE OF vc"
            guard let row = try await transaction.query(locked).first else { return nil }
            let vendorID = try Self.contact(from: row).vendorId
            var statement = changes.update(
                table: "vendor_contacts",
                id: id,
                organization: nil,
                stampsUpdatedAt: false
            )
            statement.sql += " RETURNING id, vendor_id, name, email, phone, role"
            guard let updated = try await transaction.query(statement).first.map(Self.contact(from:)) else {
                return nil
            }
            try await AuditLog.record(
                transaction,
                principal: principal,
                entity: "vendor_contact",
                id: id,
                action: "update",
                fields: changes.fields,
                requestID: requestID
            )
            try await InvalidationOutbox.record(transaction, tags: tags(vendorID), reason: "vendor contact updated")
            return updated
        }
    }
}
