import Logging
import Synchronization
import WedSyncConnectionPool
import WedSyncPostgres
import WedSyncRedis

/// Round trips per second through the pooled clients, at several numbers of concurrent callers.
enum PoolBenchmark {
    static func postgres(_ arguments: BenchArguments) async throws {
        let configuration = try PostgresConfiguration(url: try arguments.string("database-url"))
        for callers in arguments.list("concurrency", default: [1, 32]) {
            let pool = PostgresPool(
                name: "bench",
                configuration: configuration,
                poolConfiguration: ConnectionPoolConfiguration(minimumConnections: 0, maximumConnections: callers),
                logger: Logger(label: "bench")
            )
            let (operations, seconds) = try await measure(
                callers: callers,
                seconds: arguments.int("seconds", default: 5)
            ) {
                _ = try await pool.query("SELECT 1")
            }
            let statistics = pool.statistics
            await pool.shutdown()
            report([
                "benchmark": "postgres-select-1", "callers": callers, "operations": operations,
                "perSecond": Int(Double(operations) / seconds),
                "acquireP50Ms": statistics.acquireLatencyP50Ms, "acquireP99Ms": statistics.acquireLatencyP99Ms,
            ])
        }
    }

    static func redis(_ arguments: BenchArguments) async throws {
        let configuration = try RedisConfiguration(url: try arguments.string("redis-url"))
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: 3)
        for callers in arguments.list("concurrency", default: [1, 32]) {
            let client = RedisClient(
                configuration: configuration,
                poolConfiguration: ConnectionPoolConfiguration(minimumConnections: 0, maximumConnections: callers),
                logger: Logger(label: "bench")
            )
            try await client.set("bench:key", value: value)
            let (operations, seconds) = try await measure(
                callers: callers,
                seconds: arguments.int("seconds", default: 5)
            ) {
                _ = try await client.get("bench:key")
            }
            await client.shutdown()
            report([
                "benchmark": "redis-get", "callers": callers, "operations": operations,
                "perSecond": Int(Double(operations) / seconds),
            ])
        }
    }

    /// Runs `operation` in a loop from `callers` tasks: a one-second warm-up, then `seconds` measured.
    static func measure(
        callers: Int,
        seconds: Int,
        _ operation: @escaping @Sendable () async throws -> Void
    ) async throws -> (operations: Int, seconds: Double) {
        let counter = Counter()
        let start = ContinuousClock.now
        let warmUpEnd = start + .seconds(1)
        let end = warmUpEnd + .seconds(seconds)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    while ContinuousClock.now < end {
                        try await operation()
                        if ContinuousClock.now > warmUpEnd { counter.count.add(1, ordering: .relaxed) }
                    }
                }
            }
            try await group.waitForAll()
        }
        return (counter.count.load(ordering: .relaxed), Double(seconds))
    }

    final class Counter: Sendable {
        let count = Atomic(0)
    }
}
