import WedSyncPostgres
import WedSyncServiceKit

/// The `SET` list of a partial update, from the fields a `PATCH` body carried. Column names come from the
/// store's own code (``ClientStore``, ``GuestStore``, ``VendorStore``), never from the request; values are bound.
struct PatchBuilder {
    private(set) var fields: [String] = []
    private var binds: [any PostgresBindable] = []

    /// Sets `column` to `value` when the body carried it.
    mutating func set(_ column: String, _ value: (any PostgresBindable)?) {
        guard let value else { return }
        fields.append(column)
        binds.append(value)
    }

    /// Whether the body changed nothing: an empty merge patch (RFC 7396) leaves the resource as it is.
    var isEmpty: Bool { fields.isEmpty }

    /// `UPDATE table SET ... , updated_at = now() WHERE id = ... AND organization_id = ...`; without the stamp for a
    /// table that has no `updated_at`, and without the organization for a table scoped through its parent (the
    /// caller checks that).
    func update(table: String, id: Int, organization: Int?, stampsUpdatedAt: Bool = true) -> PostgresQuery {
        var binds = self.binds
        var assignments = fields.enumerated().map { index, column in "\(column) = $\(index + 1)" }
        if stampsUpdatedAt { assignments.append("updated_at = now()") }
        binds.append(id)
        var sql = "UPDATE \(table) SET \(assignments.joined(separator: ", ")) WHERE id = $\(binds.count)"
        if let organization {
            binds.append(organization)
            sql += " AND organization_id = $\(binds.count)"
        }
        return PostgresQuery(sql: sql, binds: binds)
    }
}
