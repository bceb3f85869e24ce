import WedSyncPostgres

/// The API's access to PostgreSQL: reads on a replica when there is one, writes on the primary, and every
/// statement timed into the current request's ``QueryLog``.
public struct RecordingDatabase: Sendable {
    public let database: PostgresDatabase

    public init(database: PostgresDatabase) {
        self.database = database
    }

    /// A read that may see slightly stale data (a replica's).
    public func read(_ query: PostgresQuery) async throws -> PostgresRows {
        try await Self.timed(query) { try await database.readQuery(query) }
    }

    /// A read of the primary, for reads that must see the caller's own writes.
    public func readPrimary(_ query: PostgresQuery) async throws -> PostgresRows {
        try await Self.timed(query) { try await database.write.query(query) }
    }

    /// A transaction on the primary; statements run through the ``Transaction`` are recorded too.
    public func transaction<Result>(_ body: (Transaction) async throws -> Result) async throws -> Result {
        try await database.write.withTransaction { connection in
            try await body(Transaction(connection: connection))
        }
    }

    /// Statements inside ``RecordingDatabase/transaction(_:)``.
    public struct Transaction {
        let connection: PostgresConnection

        public func query(_ query: PostgresQuery) async throws -> PostgresRows {
            try await RecordingDatabase.timed(query) { try await connection.query(query) }
        }
    }

    static func timed(_ query: PostgresQuery, _ run: () async throws -> PostgresRows) async throws -> PostgresRows {
        let started = ContinuousClock.now
        let rows = try await run()
        QueryLog.current?.record(sql: query.sql, duration: ContinuousClock.now - started, rows: rows.count)
        return rows
    }
}
