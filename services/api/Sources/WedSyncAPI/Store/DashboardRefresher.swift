import Logging
import ServiceLifecycle
import Synchronization
import WedSyncPostgres

/// Keeps the `dashboard_counts` materialized view fresh: `REFRESH MATERIALIZED VIEW CONCURRENTLY` (readers never
/// wait) every `interval`, and `debounce` after a write marks it stale. One replica refreshes at a time
/// (`pg_try_advisory_xact_lock`); after each refresh, the `dashboard` cache tag is invalidated.
public final class DashboardRefresher: Service, Sendable {
    private let pool: PostgresPool
    private let interval: Duration
    private let debounce: Duration
    private let logger: Logger
    private let stale = Atomic(false)
    private let onRefresh: @Sendable () async -> Void

    static let lockKey = 8_090_002

    public init(
        pool: PostgresPool,
        interval: Duration = .seconds(60),
        debounce: Duration = .seconds(5),
        logger: Logger,
        onRefresh: @escaping @Sendable () async -> Void = {}
    ) {
        self.pool = pool
        self.interval = interval
        self.debounce = debounce
        self.logger = logger
        self.onRefresh = onRefresh
    }

    /// Asks for a refresh soon (after `debounce`): a write changed what the dashboard counts.
    public func markStale() {
        stale.store(true, ordering: .relaxed)
    }

    /// Refreshes now; `false` when another replica holds the refresh lock.
    @discardableResult
    public func refresh() async throws -> Bool {
        // A transaction-scoped lock: through PgBouncer in transaction mode, statements outside one transaction may
        // meet different server connections, and a session lock would be taken on one and released on another.
        let refreshed = try await pool.withTransaction { connection -> Bool in
            let locked =
                try await connection.query("SELECT pg_try_advisory_xact_lock(\(Self.lockKey))").first?.decode(
                    Bool.self,
                    at: 0
                ) ?? false
            guard locked else { return false }
            try await connection.simpleQuery("REFRESH MATERIALIZED VIEW CONCURRENTLY dashboard_counts")
            return true
        }
        if refreshed { await onRefresh() }
        return refreshed
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        var sinceRefresh = Duration.zero
        let tick = min(debounce, interval)
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: tick)
            } catch {
                return
            }
            sinceRefresh += tick
            guard stale.load(ordering: .relaxed) || sinceRefresh >= interval else { continue }
            stale.store(false, ordering: .relaxed)
            sinceRefresh = .zero
            do {
                try await refresh()
            } catch {
                logger.warning("dashboard refresh failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
