import Logging
import ServiceLifecycle
import Synchronization
import WedSyncPostgres

/// Keeps the `dashboard_counts` materialized view fresh: `REFRESH MATERIALIZED VIEW CONCURRENTLY` (readers never
/// wait) every `interval`, and `debounce` after a write marks it stale. One replica refreshes at a time
/// (`pg_try_advisory_xact_lock`). After each refresh, the cache tags of the organizations whose counts changed are
/// invalidated (`org:<id>:dashboard`; the `dashboard` tag of all of them when more than
/// ``maximumTargetedInvalidations`` changed), so a dashboard stays cached, and warmed, until its counts move.
public final class DashboardRefresher: Service, Sendable {
    private let pool: PostgresPool
    private let interval: Duration
    private let debounce: Duration
    private let logger: Logger
    private let stale = Atomic(false)
    private let onRefresh: @Sendable (_ tags: [String]) async -> Void

    static let lockKey = 8_090_002
    /// Beyond this many organizations changed in one refresh, one `dashboard` tag is invalidated for all of them.
    static let maximumTargetedInvalidations = 500
    /// The counted columns: a row whose counts are all the same is unchanged, whenever it was counted.
    static let countedColumns = [
        "clients", "active_clients", "upcoming_weddings_30_days", "upcoming_weddings_365_days", "inquiries", "booked",
        "guests", "rsvp_attending", "rsvp_declined", "rsvp_pending", "active_journeys",
    ]

    public init(
        pool: PostgresPool,
        interval: Duration = .seconds(60),
        debounce: Duration = .seconds(5),
        logger: Logger,
        onRefresh: @escaping @Sendable (_ tags: [String]) async -> Void = { _ in }
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

    /// Refreshes now; `false` when another replica holds the refresh lock. The organizations whose counts changed
    /// are compared with a copy of the view taken in the same transaction.
    @discardableResult
    public func refresh() async throws -> Bool {
        let columns = Self.countedColumns
        let compared = columns.map { "n.\($0) IS DISTINCT FROM b.\($0)" }.joined(separator: " OR ")
        // A transaction-scoped lock: through PgBouncer in transaction mode, statements outside one transaction may
        // meet different server connections, and a session lock would be taken on one and released on another.
        let changed = try await pool.withTransaction { connection -> [Int]? in
            let locked =
                try await connection.query("SELECT pg_try_advisory_xact_lock(\(Self.lockKey))").first?.decode(
                    Bool.self,
                    at: 0
                ) ?? false
            guard locked else { return nil }
            try await connection.simpleQuery(
                "CREATE TEMP TABLE dashboard_counts_before ON COMMIT DROP AS SELECT organization_id, "
                    + columns.joined(separator: ", ") + " FROM dashboard_counts"
            )
            try await connection.simpleQuery("REFRESH MATERIALIZED VIEW CONCURRENTLY dashboard_counts")
            let rows = try await connection.query(
                PostgresQuery(
                    sql: """
                        SELECT coalesce(n.organization_id, b.organization_id)
                        FROM dashboard_counts n FULL JOIN dashboard_counts_before b USING (organization_id)
                        WHERE n.organization_id IS NULL OR b.organization_id IS NULL OR \(compared)
                        ORDER BY 1
                        """
                )
            )
            return try rows.map { try $0.decode(Int.self, at: 0) }
        }
        guard let changed else { return false }
        if changed.count > Self.maximumTargetedInvalidations {
            await onRefresh(["dashboard"])
        } else if !changed.isEmpty {
            await onRefresh(changed.map { "org:\($0):dashboard" })
        }
        return true
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
