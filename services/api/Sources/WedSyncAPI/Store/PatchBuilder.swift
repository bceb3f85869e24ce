import WedSyncPostgres
import WedSyncServiceKit

/// The `SET` list of a partial update, from the fields a `PATCH` body carried. Column names come from the
/// store's own code (``ClientStore``, ``GuestStore``), never from the request; values are bound.
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

    /// `UPDATE table SET ... , updated_at = now() WHERE id = ... AND organization_id = ...`.
    func update(table: String, id: Int, organization: Int) -> PostgresQuery {
        var binds = self.binds
        let assignments = fields.enumerated().map { index, column in "\(column) = $\(index + 1)" }
        binds.append(id)
        binds.append(organization)
        return PostgresQuery(
            sql: "UPDATE \(table) SET \(assignments.joined(separator: ", ")), updated_at = now() "
                + "WHERE id = $\(binds.count - 1) AND organization_id = $\(binds.count)",
            binds: binds
        )
    }
}
