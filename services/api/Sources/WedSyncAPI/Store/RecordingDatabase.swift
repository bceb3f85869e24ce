import WedSyncPostgres

/// The API's access to PostgreSQL: reads on a replica when there is one, writes on the primary, and every
/// statement timed into the current request's ``QueryLog``.
///
/// Read-your-writes: a request runs under its organization's consistency key (``consistencyKey``). A transaction
/// committed under it fences the key at the primary's log position, and the key's reads go only to replicas that
/// have replayed that far, or to the primary: a supplier who edits a client sees the edit on the next screen, while
/// other organizations' reads stay on the replicas. The fence is kept by this process (see the README's database
/// section for what that means with several API replicas).
public struct RecordingDatabase: Sendable {
    public let database: PostgresDatabase

    /// The consistency key of the request being served: its organization's.
    @TaskLocal public static var consistencyKey: String?

    /// The consistency key of `organization`.
    public static func key(organization: Int) -> String { "organization:\(organization)" }

    public init(database: PostgresDatabase) {
        self.database = database
    }

    /// A read that may see slightly stale data (a replica's), but never older than the request's organization's
    /// own last write.
    public func read(_ query: PostgresQuery) async throws -> PostgresRows {
        try await Self.timed(query) { try await database.readQuery(query, key: Self.consistencyKey) }
    }

    /// A read of a row that may have been written a moment ago by another caller (a token just issued): a miss on
    /// a replica is asked again of the primary.
    public func readConfirmingMiss(_ query: PostgresQuery) async throws -> PostgresRows {
        let rows = try await read(query)
        guard rows.isEmpty, !database.replicas.isEmpty else { return rows }
        return try await readPrimary(query)
    }

    /// A read of the primary, for reads that must see the caller's own writes.
    public func readPrimary(_ query: PostgresQuery) async throws -> PostgresRows {
        try await Self.timed(query) { try await database.write.query(query) }
    }

    /// A transaction on the primary; statements run through the ``Transaction`` are recorded too. Once it commits,
    /// the request's consistency key is fenced at the primary's position.
    public func transaction<Result>(_ body: (Transaction) async throws -> Result) async throws -> Result {
        let result = try await database.write.withTransaction { connection in
            try await body(Transaction(connection: connection))
        }
        if let key = Self.consistencyKey {
            await database.recordWrite(key: key)
        }
        return result
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
