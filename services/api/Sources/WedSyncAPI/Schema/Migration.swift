/// One step of the schema, applied once and recorded in `schema_migrations`.
public struct Migration: Sendable {
    /// Applied in increasing order; never reused or renumbered once released.
    public var version: Int
    public var name: String
    /// One or more statements, run in one transaction (so `CREATE INDEX CONCURRENTLY` has no place here).
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

extension Migration {
    /// Every migration of the WedSync API, oldest first.
    public static let all: [Migration] = [.initialSchema, .dashboardCounts, .invalidationOutbox]
}
