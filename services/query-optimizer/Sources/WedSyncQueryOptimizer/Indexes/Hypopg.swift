import WedSyncPostgres

/// The hypopg extension of the target database, called by its schema: the statement's search path (which a
/// caller may set) need not hold it.
public struct Hypopg: Sendable {
    /// The schema the extension was created in.
    public let schema: String

    /// hypopg in the database `connection` is on; `nil` when it is not installed.
    public static func find(on connection: PostgresConnection) async throws -> Hypopg? {
        let rows = try await connection.query(
            """
            SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
            WHERE e.extname = 'hypopg'
            """,
            prepared: false
        )
        return try rows.first.map { Hypopg(schema: try $0.decode(String.self, at: 0)) }
    }

    /// `schema.function`, as SQL takes it. (A plain string: an interpolated `PostgresQuery` would bind the schema.)
    private func function(_ name: String) -> String { IndexAdvisor.Candidate.quoted(schema) + "." + name }

    /// Drops every hypothetical index of the session.
    public func reset(on connection: PostgresConnection) async throws {
        _ = try await connection.query(PostgresQuery(sql: "SELECT \(function("hypopg_reset"))()"), prepared: false)
    }

    /// Makes the hypothetical index `statement` (`CREATE INDEX ... ON schema.table (...)`) describes; its OID.
    public func create(_ statement: String, on connection: PostgresConnection) async throws -> Int64 {
        let rows = try await connection.query(
            PostgresQuery(
                sql: "SELECT indexrelid::bigint FROM \(function("hypopg_create_index"))($1)",
                binds: [statement]
            ),
            prepared: false
        )
        return try rows.first?.decode(Int64.self, at: 0) ?? 0
    }

    /// A hypothetical index's estimated size in bytes.
    public func size(_ oid: Int64, on connection: PostgresConnection) async throws -> Int64 {
        let rows = try await connection.query(
            PostgresQuery(sql: "SELECT \(function("hypopg_relation_size"))($1::oid)::bigint", binds: [oid]),
            prepared: false
        )
        return try rows.first?.decode(Int64.self, at: 0) ?? 0
    }

    /// Drops one hypothetical index.
    public func drop(_ oid: Int64, on connection: PostgresConnection) async throws {
        _ = try await connection.query(
            PostgresQuery(sql: "SELECT \(function("hypopg_drop_index"))($1::oid)", binds: [oid]),
            prepared: false
        )
    }
}
