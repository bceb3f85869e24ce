import Logging
import NIOPosix
import Synchronization

/// Checks every replica's health and lag on connections of its own (a saturated pool must not make a healthy replica
/// look dead), every `interval`.
///
/// Lag is measured against the primary's own log positions: each check first samples `pg_current_wal_insert_lsn()` on the
/// primary, then reads each replica's `pg_last_wal_replay_lsn()`; a replica's lag is the time since the first
/// sample it has not replayed. Unlike `now() - pg_last_xact_replay_timestamp()` this is zero for a replica of an
/// idle primary, and it needs no clock shared between servers.
final class ReplicaMonitor: Sendable {
    struct Sample {
        var at: ContinuousClock.Instant
        var position: PostgresLSN
    }

    struct State {
        var samples: [Sample] = []
        var replicas: [ObjectIdentifier: ReplicaState] = [:]
    }

    let interval: Duration
    /// How long a check waits for a server's answer: the interval, between half a second and two.
    let checkTimeout: Duration
    /// How long a finding holds: two intervals and a check's timeout (servers are checked side by side).
    let validity: Duration
    private let primary: PostgresConfiguration
    private let replicas: [PostgresPool]
    private let threadPool: NIOThreadPool
    /// Each server's open connection, and the servers whose probe is still out (one at a time a server: a server
    /// that hangs holds one thread, not one more every check).
    private let connections: Mutex<[ObjectIdentifier: PostgresConnection]> = Mutex([:])
    private let probing: Mutex<Set<ObjectIdentifier>> = Mutex([])
    private let stopped = Atomic(false)
    private let threadsStarted = Atomic(false)
    private let state = Mutex(State())
    /// A lag that cannot be dated: the replica is behind every position sampled so far (the monitor just started,
    /// or it is more than the samples' ten minutes behind). Out of any rotation until a later check dates it.
    static let undatedLag = Duration.seconds(86_400)

    /// The primary's log position as a replica's replay position will read once it has replayed everything written
    /// so far. `pg_current_wal_insert_lsn()` (which, unlike the flush position, includes a commit not yet flushed
    /// under `synchronous_commit = off`) points past the page header when the log ends on a page boundary, where
    /// replay stops: the header is taken off.
    static let primaryPositionSQL = """
        SELECT (CASE
            WHEN (l - '0/0') % pg_size_bytes(current_setting('wal_segment_size')) = 40 THEN l - 40
            WHEN (l - '0/0') % current_setting('wal_block_size')::int = 24 THEN l - 24
            ELSE l END)::text
        FROM pg_current_wal_insert_lsn() AS l
        """
    private let logger: Logger
    /// Primary positions kept to date a replica's lag: enough for ten minutes at any interval.
    private static let sampleLimit = 600

    init(primary: PostgresConfiguration, replicas: [PostgresPool], interval: Duration, logger: Logger) {
        self.primary = primary
        self.replicas = replicas
        self.interval = interval
        self.checkTimeout = min(max(interval, .milliseconds(500)), .seconds(2))
        self.validity = interval * 2 + checkTimeout
        self.logger = logger
        // Two threads a server: a probe abandoned while its server hangs keeps one until it gives up.
        // Started by the first check: a monitor never run needs no shutdown.
        self.threadPool = NIOThreadPool(numberOfThreads: 2 * (replicas.count + 1))
    }

    /// The last check's finding for `pool`; `nil` before its first check, and once it is older than ``validity``
    /// (the monitor itself stalled).
    func state(of pool: PostgresPool) -> ReplicaState? {
        let found = state.withLock { $0.replicas[ObjectIdentifier(pool)] }
        guard let found, ContinuousClock.now - found.checkedAt <= validity else { return nil }
        return found
    }

    /// Records that a statement on `pool` failed for want of its server: it is unreachable until a check says
    /// otherwise.
    func markUnreachable(_ pool: PostgresPool) {
        state.withLock { state in
            state.replicas[ObjectIdentifier(pool)]?.reachable = false
        }
    }

    /// The least position every replica that answered its last check has replayed; `nil` when one has not.
    var replayedByAll: PostgresLSN? {
        state.withLock { state in
            var least: PostgresLSN?
            for pool in replicas {
                guard let found = state.replicas[ObjectIdentifier(pool)], found.reachable else { return nil }
                guard let replayed = found.replayed else { continue }
                least = least.map { min($0, replayed) } ?? replayed
            }
            return least
        }
    }

    /// One round: the primary's position, then every replica's, side by side.
    func check() async {
        guard !stopped.load(ordering: .relaxed), !replicas.isEmpty else { return }
        if !threadsStarted.exchange(true, ordering: .relaxed) { threadPool.start() }
        if let position = try? await lsn(primary, key: nil, sql: Self.primaryPositionSQL) {
            state.withLock { state in
                state.samples.append(Sample(at: .now, position: position))
                if state.samples.count > Self.sampleLimit { state.samples.removeFirst() }
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for pool in replicas {
                group.addTask { await self.check(pool) }
            }
        }
    }

    private func check(_ pool: PostgresPool) async {
        guard !Task.isCancelled else { return }
        let found: ReplicaState
        do {
            let replayed = try await lsn(
                pool.configuration,
                key: ObjectIdentifier(pool),
                sql: "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END"
            )
            let now = ContinuousClock.now
            let lag = state.withLock { state -> Duration in
                guard let replayed else { return .zero }
                guard let index = state.samples.firstIndex(where: { $0.position > replayed }) else { return .zero }
                // Behind even the oldest sample: since when is unknown.
                return index == 0 ? Self.undatedLag : now - state.samples[index].at
            }
            found = ReplicaState(reachable: true, replayed: replayed, lag: lag, checkedAt: now)
        } catch {
            found = ReplicaState(reachable: false, replayed: nil, lag: .zero, checkedAt: .now)
        }
        let previous = state.withLock { state in
            defer { state.replicas[ObjectIdentifier(pool)] = found }
            return state.replicas[ObjectIdentifier(pool)]
        }
        if previous?.reachable != found.reachable {
            logger.log(
                level: found.reachable ? .info : .warning,
                found.reachable ? "replica reachable" : "replica unreachable: reads go elsewhere",
                metadata: ["pool": "\(pool.name)"]
            )
        }
    }

    /// Runs `sql` (one `pg_lsn` as text, or NULL) on the monitor's own connection to `configuration`, opening it
    /// when needed. A server that has not answered within the check timeout counts as down: behind PgBouncer a
    /// stopped server does not refuse, it keeps the client waiting (`query_wait_timeout`). The probe is left to end
    /// on its own (its thread is blocked in libpq; cancelling would block another), and while it is out the server
    /// counts as down without another probe; its connection, unless it is still the server's, is closed when it ends.
    private func lsn(_ configuration: PostgresConfiguration, key: ObjectIdentifier?, sql: String) async throws
        -> PostgresLSN?
    {
        let slot = key ?? ObjectIdentifier(self)
        guard probing.withLock({ $0.insert(slot).inserted }) else {
            throw PostgresError(.connectionFailed, "the previous check has not answered yet")
        }
        let (answers, answer) = AsyncStream.makeStream(of: Result<PostgresLSN?, any Error>.self)
        Task {
            defer { _ = self.probing.withLock { $0.remove(slot) } }
            do {
                answer.yield(.success(try await self.probe(configuration, slot: slot, sql: sql)))
            } catch {
                answer.yield(.failure(error))
            }
            answer.finish()
        }
        let deadline = Task {
            try await Task.sleep(for: checkTimeout)
            // The connection is abandoned to its probe, which closes it when it ends; the next opens another.
            _ = connections.withLock { $0.removeValue(forKey: slot) }
            answer.yield(.failure(PostgresError(.connectionFailed, "no answer within \(checkTimeout)")))
            answer.finish()
        }
        defer { deadline.cancel() }
        for await result in answers { return try result.get() }
        throw CancellationError()
    }

    private func probe(_ configuration: PostgresConfiguration, slot: ObjectIdentifier, sql: String) async throws
        -> PostgresLSN?
    {
        let connection: PostgresConnection
        if let open = connections.withLock({ $0[slot] }) {
            connection = open
        } else {
            var monitored = configuration
            monitored.options["connect_timeout"] = "2"
            monitored.options["application_name"] =
                (configuration.options["application_name"] ?? "wedsync") + "/monitor"
            connection = try await PostgresConnection.connect(
                configuration: monitored,
                threadPool: threadPool,
                preparedStatementLimit: 0
            )
            let kept = connections.withLock { connections -> Bool in
                guard !stopped.load(ordering: .relaxed), connections[slot] == nil else { return false }
                connections[slot] = connection
                return true
            }
            guard kept else {
                connection.close()
                throw PostgresError(.shutdown, "the monitor has stopped")
            }
        }
        do {
            let rows = try await connection.query(PostgresQuery(sql: sql), prepared: false)
            // Answered after its deadline, or after shutdown: its connection is no longer the server's.
            if connections.withLock({ $0[slot] }) !== connection { connection.close() }
            guard let text = try rows.first?.decode(String?.self, at: 0) else { return nil }
            return PostgresLSN(text)
        } catch {
            connections.withLock { connections in
                if connections[slot] === connection { connections[slot] = nil }
            }
            connection.close()
            throw error
        }
    }

    /// Closes the connections no probe is using (a probe still out closes its own when it ends) and stops the
    /// threads, without waiting for a probe blocked on a server that does not answer.
    func shutdown() async {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        let busy = probing.withLock { $0 }
        let open = connections.withLock { connections in
            defer { connections.removeAll() }
            return Array(connections)
        }
        for (slot, connection) in open where !busy.contains(slot) { connection.close() }
        guard threadsStarted.load(ordering: .relaxed) else { return }
        if !busy.isEmpty {
            let threadPool = self.threadPool
            Task { try? await threadPool.shutdownGracefully() }
        } else {
            try? await threadPool.shutdownGracefully()
        }
    }
}
