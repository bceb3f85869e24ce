import WedSyncConnectionPool
import WedSyncPostgres
import WedSyncServiceKit

/// A PostgreSQL pool answers `SELECT 1`.
public struct PostgresReadinessCheck: ReadinessCheck {
    public let name: String
    public let isCritical: Bool
    let pool: PostgresPool

    public init(name: String, pool: PostgresPool, critical: Bool) {
        self.name = name
        self.pool = pool
        self.isCritical = critical
    }

    public func check() async throws -> ReadinessOutcome {
        // A saturated pool is busy, not down: answering "degraded" at once keeps every replica from failing its
        // readiness probe together (a ping would queue behind the waiters and time out) when capacity is needed.
        let statistics = pool.statistics
        if statistics.waiting > 0, statistics.inUse == statistics.maximumSize {
            return ReadinessOutcome(state: .degraded, detail: "pool exhausted: \(statistics.waiting) waiting")
        }
        try await pool.ping()
        return .up
    }
}
