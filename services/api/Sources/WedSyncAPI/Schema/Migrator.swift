import Logging
import WedSyncPostgres

/// Applies the migrations a database lacks, once, whoever else is migrating at the same time.
///
/// Everything runs in one transaction under an advisory lock: two API replicas starting together apply each
/// migration once, and a failed migration leaves the database as it was.
public struct Migrator: Sendable {
    public let pool: PostgresPool
    public let migrations: [Migration]
    private let logger: Logger

    /// The lock every migrator takes (`pg_advisory_xact_lock`): an arbitrary constant of the API's.
    static let lockKey = 8_090_001

    public init(pool: PostgresPool, migrations: [Migration] = Migration.all, logger: Logger) {
        self.pool = pool
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.logger = logger
    }

    /// Brings the schema up to date and returns the migrations it applied (none when it was).
    @discardableResult
    public func migrate() async throws -> [Migration] {
        try await pool.withTransaction { connection in
            try await connection.execute("SELECT pg_advisory_xact_lock(\(Self.lockKey))")
            try await connection.simpleQuery(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version     integer PRIMARY KEY,
                    name        text NOT NULL,
                    applied_at  timestamptz NOT NULL DEFAULT now()
                )
                """
            )
            let applied = Set(
                try await connection.query("SELECT version FROM schema_migrations").map {
                    try $0.decode(Int.self, at: 0)
                }
            )
            var done: [Migration] = []
            for migration in migrations where !applied.contains(migration.version) {
                logger.notice(
                    "applying migration",
                    metadata: ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"]
                )
                try await connection.simpleQuery(migration.sql)
                try await connection.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))"
                )
                done.append(migration)
            }
            return done
        }
    }

    /// The versions applied so far, oldest first.
    public func appliedVersions() async throws -> [Int] {
        let exists = try await pool.query("SELECT to_regclass('schema_migrations') IS NOT NULL").first?.decode(
            Bool.self,
            at: 0
        )
        guard exists == true else { return [] }
        return try await pool.query("SELECT version FROM schema_migrations ORDER BY version").map {
            try $0.decode(Int.self, at: 0)
        }
    }
}
