import Logging
import ServiceLifecycle
import Synchronization
import WedSyncConnectionPool

/// A primary, its read replicas and its analytics standbys, as a service sees its database.
///
/// - **Writes** go to the primary (``write``).
/// - **Reads** spread over the replicas, round robin, skipping one that is unreachable or further behind than
///   `maximumLag`; with none left they go to the primary. A read that fails because its replica went away is run
///   again on the primary.
/// - **Read-your-writes:** a caller that wrote records the primary's log position under a key of its choosing
///   (``recordWrite(key:)``, the API uses the organization); reads under that key go only to replicas that have
///   replayed it, and to the primary until one has. The fence lives in this process.
/// - **Analytics** (exports, reports: long scans that must not take wedding-day reads' connections) go to the
///   analytics standbys, with a lag budget of their own, then to the replicas, then to the primary.
///
/// Health and lag come from a ``ReplicaMonitor`` that checks every `checkInterval` on connections of its own.
/// Replicas are plain PostgreSQL streaming replicas, or PgBouncer in front of them: nothing WedSync-specific.
public final class PostgresDatabase: Service, Sendable {
    public let primary: PostgresPool
    public let replicas: [PostgresPool]
    public let analyticsStandbys: [PostgresPool]
    /// How far behind a replica may be and still serve reads.
    public let maximumLag: Duration
    /// How far behind an analytics standby may be and still serve exports and reports.
    public let maximumAnalyticsLag: Duration
    private let monitor: ReplicaMonitor
    private let nextReplica = Atomic<Int>(0)
    private let fences = Mutex<[String: Fence]>([:])
    private let logger: Logger

    struct Fence {
        var position: PostgresLSN
        var at: ContinuousClock.Instant
    }

    /// Fences older than this are dropped whatever the replicas say (a replica that far behind is out of the
    /// rotation on lag alone).
    static let fenceLifetime = Duration.seconds(600)

    public init(
        primary: PostgresPool,
        replicas: [PostgresPool] = [],
        analyticsStandbys: [PostgresPool] = [],
        maximumLag: Duration = .seconds(2),
        maximumAnalyticsLag: Duration = .seconds(30),
        checkInterval: Duration = .seconds(1),
        logger: Logger = Logger(label: "wedsync.postgres")
    ) {
        self.primary = primary
        self.replicas = replicas
        self.analyticsStandbys = analyticsStandbys
        self.maximumLag = maximumLag
        self.maximumAnalyticsLag = maximumAnalyticsLag
        self.logger = logger
        self.monitor = ReplicaMonitor(
            primary: primary.configuration,
            replicas: replicas + analyticsStandbys,
            interval: checkInterval,
            logger: logger
        )
    }

    /// Builds the pools from URLs (`database.url`, `database.replica-urls`).
    public convenience init(
        primaryURL: String,
        replicaURLs: [String] = [],
        poolConfiguration: ConnectionPoolConfiguration = .init(),
        logger: Logger
    ) throws(PostgresError) {
        let primary = PostgresPool(
            name: "primary",
            configuration: try PostgresConfiguration(url: primaryURL),
            poolConfiguration: poolConfiguration,
            logger: logger
        )
        var replicas: [PostgresPool] = []
        for (index, url) in replicaURLs.enumerated() {
            replicas.append(
                PostgresPool(
                    name: "replica-\(index + 1)",
                    configuration: try PostgresConfiguration(url: url),
                    poolConfiguration: poolConfiguration,
                    logger: logger
                )
            )
        }
        self.init(primary: primary, replicas: replicas, logger: logger)
    }

    // MARK: Choosing a pool

    /// The pool for statements that write, or must read their own writes.
    public var write: PostgresPool { primary }

    /// The pool for statements that may read slightly stale data: a replica in the rotation, else the primary.
    public var read: PostgresPool { read(after: nil) }

    /// A replica in the rotation that has replayed `position` (any, for `nil`), else the primary.
    public func read(after position: PostgresLSN?) -> PostgresPool {
        choose(from: replicas, maximumLag: maximumLag, after: position) ?? primary
    }

    /// The pool for exports and reports: an analytics standby in its rotation, else a replica in the read
    /// rotation, else the primary.
    public var analytics: PostgresPool {
        choose(from: analyticsStandbys, maximumLag: maximumAnalyticsLag, after: nil)
            ?? choose(from: replicas, maximumLag: maximumLag, after: nil) ?? primary
    }

    /// Whether `pool` may serve reads now: it answered the last check and is within its lag budget.
    public func isInRotation(_ pool: PostgresPool) -> Bool {
        guard pool !== primary else { return true }
        let budget = analyticsStandbys.contains { $0 === pool } ? maximumAnalyticsLag : maximumLag
        guard let state = monitor.state(of: pool) else { return false }
        return state.reachable && state.lag <= budget
    }

    /// The last check's finding for a replica or analytics standby; `nil` before its first check.
    public func state(of pool: PostgresPool) -> ReplicaState? {
        monitor.state(of: pool)
    }

    private func choose(from pools: [PostgresPool], maximumLag: Duration, after position: PostgresLSN?)
        -> PostgresPool?
    {
        guard !pools.isEmpty else { return nil }
        let start = nextReplica.add(1, ordering: .relaxed).oldValue
        for offset in 0..<pools.count {
            let pool = pools[(start + offset) % pools.count]
            guard let state = monitor.state(of: pool), state.reachable, state.lag <= maximumLag else { continue }
            if let position, !state.hasReplayed(position) { continue }
            return pool
        }
        return nil
    }

    // MARK: Read-your-writes

    /// Records that the caller under `key` has just committed a write: until a replica has replayed the primary's
    /// log up to here, ``readQuery(_:key:)`` with that key reads the primary. One round trip to the primary; nothing
    /// without replicas. It never fails the write it follows: when the primary's position cannot be read, the key
    /// reads the primary for as long as a replica in the rotation may be behind (the lag budget and a check).
    public func recordWrite(key: String) async {
        guard !replicas.isEmpty else { return }
        var position = PostgresLSN(.max)
        do {
            position = try await primaryPosition()
        } catch {
            logger.warning(
                "the primary's log position after a write could not be read: its reads go to the primary a while",
                metadata: ["error": "\(error)"]
            )
        }
        let fence = Fence(position: position, at: .now)
        fences.withLock { fences in
            if let held = fences[key], held.position >= fence.position { return }
            fences[key] = fence
        }
    }

    /// The primary's log position now, as a replica's replay position reads once it has replayed everything
    /// written so far.
    public func primaryPosition() async throws -> PostgresLSN {
        let rows = try await primary.query(PostgresQuery(sql: ReplicaMonitor.primaryPositionSQL))
        guard let text = try rows.first?.decode(String.self, at: 0), let position = PostgresLSN(text) else {
            throw PostgresError(.misuse, "the primary did not give its log position")
        }
        return position
    }

    /// The position reads under `key` must see; `nil` when no write of its is outstanding.
    public func fence(for key: String) -> PostgresLSN? {
        fences.withLock { $0[key]?.position }
    }

    /// Drops the fences every replica has passed, and the expired ones.
    private func pruneFences() {
        let replayed = monitor.replayedByAll
        let now = ContinuousClock.now
        // A fence at an unknown position (.max) lasts as long as a replica in the rotation may be behind it.
        let unknownLifetime = maximumLag + monitor.validity
        fences.withLock { fences in
            fences = fences.filter { _, fence in
                if now - fence.at > Self.fenceLifetime { return false }
                if fence.position.value == .max { return now - fence.at <= unknownLifetime }
                if let replayed, replayed >= fence.position { return false }
                return true
            }
        }
    }

    // MARK: Statements

    /// Runs a read-only statement on a replica in the rotation (one that has replayed `key`'s last write), else on
    /// the primary. Should the replica fail for want of its server (stopped, restarting, unreachable), it leaves the
    /// rotation and the statement runs again on the primary: reads are safe to repeat.
    public func readQuery(_ query: PostgresQuery, key: String? = nil) async throws -> PostgresRows {
        let pool = read(after: key.flatMap(fence(for:)))
        guard pool !== primary else { return try await primary.query(query) }
        do {
            return try await pool.query(query)
        } catch let error as PostgresError where error.isServerUnavailable {
            monitor.markUnreachable(pool)
            return try await primary.query(query)
        }
    }

    /// Every pool, primary first.
    public var pools: [PostgresPool] { [primary] + replicas + analyticsStandbys }

    /// Checks every replica once now (``run()`` does so every interval): for callers that do not run the database
    /// as a `Service`, and tests.
    public func checkReplicas() async {
        await monitor.check()
        pruneFences()
    }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for pool in pools {
                group.addTask { try await pool.run() }
            }
            group.addTask {
                await cancelWhenGracefulShutdown {
                    guard !self.replicas.isEmpty || !self.analyticsStandbys.isEmpty else { return }
                    while !Task.isCancelled {
                        await self.checkReplicas()
                        do {
                            try await Task.sleep(for: self.monitor.interval)
                        } catch {
                            return
                        }
                    }
                }
                await self.monitor.shutdown()
            }
        }
    }

    /// Closes every pool, for callers that do not run the database as a `Service`.
    public func shutdown() async {
        await monitor.shutdown()
        for pool in pools { await pool.shutdown() }
    }
}

extension PostgresError {
    /// Whether the statement failed because its server is unavailable (a connection that failed or dropped, a
    /// server shutting down or starting up, PgBouncer unable to reach it), not because of the statement: the same
    /// statement may succeed on another server.
    public var isServerUnavailable: Bool {
        if isConnectionFailure { return true }
        guard code == .server, let sqlState else { return false }
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }
}
