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
    private let primary: PostgresConfiguration
    private let replicas: [PostgresPool]
    private let threadPool: NIOThreadPool
    private let connections: Mutex<[ObjectIdentifier: PostgresConnection]> = Mutex([:])
    private let state = Mutex(State())
    private let logger: Logger
    /// Primary positions kept to date a replica's lag: enough for ten minutes at any interval.
    private static let sampleLimit = 600

    init(primary: PostgresConfiguration, replicas: [PostgresPool], interval: Duration, logger: Logger) {
        self.primary = primary
        self.replicas = replicas
        self.interval = interval
        self.checkTimeout = min(max(interval, .milliseconds(500)), .seconds(2))
        self.logger = logger
        // Two threads a server: a check abandoned while its server hangs keeps one until it gives up.
        self.threadPool = NIOThreadPool(numberOfThreads: 2 * (replicas.count + 1))
        if !replicas.isEmpty { threadPool.start() }
    }

    /// The last check's finding for `pool`; `nil` before its first check, and once it is older than three
    /// intervals (the monitor itself stalled).
    func state(of pool: PostgresPool) -> ReplicaState? {
        let found = state.withLock { $0.replicas[ObjectIdentifier(pool)] }
        guard let found, ContinuousClock.now - found.checkedAt <= interval * 3 else { return nil }
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

    /// One round: the primary's position, then each replica's.
    func check() async {
        if let position = try? await lsn(primary, key: nil, sql: "SELECT pg_current_wal_insert_lsn()::text") {
            state.withLock { state in
                state.samples.append(Sample(at: .now, position: position))
                if state.samples.count > Self.sampleLimit { state.samples.removeFirst() }
            }
        }
        for pool in replicas {
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
                    guard let first = state.samples.first(where: { $0.position > replayed }) else { return .zero }
                    return now - first.at
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
    }

    /// Runs `sql` (one `pg_lsn` as text, or NULL) on the monitor's own connection to `configuration`, opening it
    /// when needed. A server that has not answered within the check timeout counts as down: behind PgBouncer a
    /// stopped server does not refuse, it keeps the client waiting (`query_wait_timeout`). The late answer is
    /// dropped, and its connection closed.
    private func lsn(_ configuration: PostgresConfiguration, key: ObjectIdentifier?, sql: String) async throws
        -> PostgresLSN?
    {
        let slot = key ?? ObjectIdentifier(self)
        let (answers, answer) = AsyncStream.makeStream(of: Result<PostgresLSN?, any Error>.self)
        Task {
            do {
                answer.yield(.success(try await self.probe(configuration, slot: slot, sql: sql)))
            } catch {
                answer.yield(.failure(error))
            }
            answer.finish()
        }
        let deadline = Task {
            try await Task.sleep(for: checkTimeout)
            // Whatever it was doing is abandoned: the next check opens a connection of its own.
            if let abandoned = connections.withLock({ $0.removeValue(forKey: slot) }) {
                abandoned.cancelRunningStatement()
            }
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
            connections.withLock { $0[slot] = connection }
        }
        do {
            let rows = try await connection.query(PostgresQuery(sql: sql), prepared: false)
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

    func shutdown() async {
        let open = connections.withLock { connections in
            defer { connections.removeAll() }
            return Array(connections.values)
        }
        for connection in open { connection.close() }
        if !replicas.isEmpty { try? await threadPool.shutdownGracefully() }
    }
}
