import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import WedSyncModels
import WedSyncPostgres
import WedSyncServiceKit

/// Connections by state, lock waits and long transactions from `pg_stat_activity`, the services' own pool
/// figures from their `/metrics`, and a verdict on whether the pools or the database hold requests back.
public struct ConnectionHealthReader: Sendable {
    /// A service whose pools are read: `/metrics` is appended to its URL.
    public typealias Target = ScrapeTarget

    public var targets: [Target]
    /// A transaction open this long is a long transaction.
    public var longTransaction: Duration
    /// A pool this much in use (or with anyone waiting) is saturated.
    public var saturatedShare = 0.9
    /// The server is short of connections past this share of `max_connections`.
    public var connectionShare = 0.9
    /// A pool whose recent borrows waited this long at p99 is saturated.
    public var slowAcquireMs = 100.0

    public init(targets: [Target] = [], longTransaction: Duration = .seconds(60)) {
        self.targets = targets
        self.longTransaction = longTransaction
    }

    /// The database's side, on `connection`, with the services' `pools` read before (``readPools()``).
    public func read(on connection: PostgresConnection, pools: [ServicePoolHealth]) async throws
        -> ConnectionHealthReport
    {
        let seconds = Double(longTransaction / .milliseconds(1)) / 1000
        let server = try await connection.query(
            "SELECT current_setting('max_connections')::int, (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int",
            prepared: false
        )
        let states = try await connection.query(
            """
            SELECT COALESCE(state, 'unknown'), count(*)::int FROM pg_stat_activity
            WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1
            """,
            prepared: false
        )
        let sessions = try await connection.query(
            PostgresQuery(
                sql: """
                    SELECT pid, COALESCE(state, 'unknown'), COALESCE(application_name, ''), extract(epoch FROM now() - xact_start)::float8,
                        wait_event_type, wait_event, COALESCE(query, '')
                    FROM pg_stat_activity
                    WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
                        AND (wait_event_type = 'Lock' OR xact_start < now() - make_interval(secs => $1))
                    ORDER BY xact_start NULLS LAST LIMIT 200
                    """,
                binds: [seconds]
            ),
            prepared: false
        )
        var waiting: [DatabaseSession] = []
        var long: [DatabaseSession] = []
        for row in sessions {
            let session = DatabaseSession(
                pid: try row.decode(Int.self, at: 0),
                state: try row.decode(String.self, at: 1),
                applicationName: String(try row.decode(String.self, at: 2).prefix(64)),
                transactionSeconds: try row.decode(Double?.self, at: 3),
                waitEventType: try row.decode(String?.self, at: 4),
                waitEvent: try row.decode(String?.self, at: 5),
                query: StatementFingerprint.normalize(try row.decode(String.self, at: 6), limit: 300)
            )
            if session.waitEventType == "Lock" { waiting.append(session) }
            if (session.transactionSeconds ?? 0) >= seconds { long.append(session) }
        }
        var byState: [String: Int] = [:]
        for row in states { byState[try row.decode(String.self, at: 0)] = try row.decode(Int.self, at: 1) }
        let maximum = try server.first?.decode(Int.self, at: 0) ?? 0
        let connections = try server.first?.decode(Int.self, at: 1) ?? 0
        return ConnectionHealthReport(
            maxConnections: maximum,
            connections: connections,
            byState: byState,
            waiting: waiting,
            longTransactions: long,
            pools: pools,
            verdict: verdict(
                maxConnections: maximum,
                connections: connections,
                waiting: waiting,
                long: long,
                pools: pools
            )
        )
    }

    /// Every target's pools, at once; a target that does not answer is one pool entry, `up: false`.
    func readPools() async -> [ServicePoolHealth] {
        await withTaskGroup(of: [ServicePoolHealth].self) { group in
            for target in targets {
                group.addTask {
                    let down = [
                        ServicePoolHealth(
                            service: target.name,
                            pool: "-",
                            up: false,
                            inUse: 0,
                            idle: 0,
                            maximum: 0,
                            waiting: 0,
                            acquireTimeouts: 0,
                            acquireP99Ms: nil
                        )
                    ]
                    guard let text = await target.exposition(timeout: .seconds(3)) else { return down }
                    return PrometheusText.pools(in: text).map { pool in
                        ServicePoolHealth(
                            service: target.name,
                            pool: pool.pool,
                            up: true,
                            inUse: pool.inUse,
                            idle: pool.idle,
                            maximum: pool.maximum,
                            waiting: pool.waiting,
                            acquireTimeouts: pool.acquireTimeouts,
                            acquireP99Ms: pool.acquireP99Seconds.map { $0 * 1000 }
                        )
                    }
                }
            }
            var all: [ServicePoolHealth] = []
            for await pools in group { all += pools }
            return all.sorted { ($0.service, $0.pool) < ($1.service, $1.pool) }
        }
    }

    /// The pools are the bottleneck when one is saturated (everything in use, or borrowers waiting) while the
    /// database has connections to spare and no lock waits: raising the pool's size helps. The database is
    /// when it is out of connections, or sessions wait on locks: a bigger pool would only queue there instead.
    public func verdict(
        maxConnections: Int,
        connections: Int,
        waiting: [DatabaseSession],
        long: [DatabaseSession],
        pools: [ServicePoolHealth]
    ) -> BottleneckVerdict {
        var database: [String] = []
        if maxConnections > 0, Double(connections) >= Double(maxConnections) * connectionShare {
            database.append(
                "\(connections) of \(maxConnections) server connections are open: put PgBouncer (transaction pooling) in front, or lower the services' pool sizes"
            )
        }
        if !waiting.isEmpty {
            database.append(
                "\(waiting.count) session(s) wait on locks: find the blocking transaction (pg_blocking_pids) and keep transactions short"
            )
        }
        if let first = long.first, let seconds = first.transactionSeconds {
            database.append(
                "\(long.count) transaction(s) open for over \(Int(saturating: Double(longTransaction / .seconds(1)))) s, the longest \(Int(saturating: seconds)) s (\(first.state)): they hold locks and stop VACUUM"
            )
        }
        var saturated: [String] = []
        // Database pools only (`primary`, `replica-n`): a Redis pool is no client of this database. Saturated: all
        // but a tenth in use, borrowers waiting now, or the last borrows' p99 wait past `slowAcquire`.
        for pool in pools where pool.up && pool.maximum > 0 && !pool.pool.hasPrefix("redis") {
            let slow = (pool.acquireP99Ms ?? 0) >= slowAcquireMs
            guard pool.waiting > 0 || pool.inUse / pool.maximum >= saturatedShare || slow else { continue }
            var reason =
                "\(pool.service)/\(pool.pool): \(Int(saturating: pool.inUse)) of \(Int(saturating: pool.maximum)) connections in use, \(Int(saturating: pool.waiting)) waiting"
            if slow, let p99 = pool.acquireP99Ms { reason += ", borrowing took \(Int(saturating: p99)) ms at p99" }
            saturated.append(reason)
        }
        if !database.isEmpty {
            return BottleneckVerdict(bottleneck: "database", reasons: database + saturated)
        }
        if !saturated.isEmpty {
            let spare = maxConnections - connections
            return BottleneckVerdict(
                bottleneck: "pool",
                reasons: saturated + [
                    "the database has \(spare) connections to spare and no lock waits: raise database.pool.max of the saturated service, within that"
                ]
            )
        }
        return BottleneckVerdict(
            bottleneck: "none",
            reasons: pools.isEmpty ? ["no service pools configured (optimizer.pool-targets)"] : []
        )
    }
}
