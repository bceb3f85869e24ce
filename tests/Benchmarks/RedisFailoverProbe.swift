import Foundation
import Logging
import Synchronization
import WedSyncConnectionPool
import WedSyncRedis

/// What a Redis Cluster failover costs the cache's writes: writers `SET` distinct keys through the cluster client
/// (as the cache's L2 does) until `--until-file` appears or `--seconds` pass, keeping every key Redis acknowledged;
/// a script kills a primary meanwhile. Then, once every slot answers again, each acknowledged key is read back.
/// A key acknowledged by the old primary but not yet copied to its replica when it died is lost: Redis replication
/// is asynchronous, and this counts how many.
enum RedisFailoverProbe {
    final class Shared: Sendable {
        let tally = Mutex(Tally())
        let next = Atomic<Int>(0)
    }

    struct Tally: Sendable {
        var acknowledged: [Int] = []
        var failed = 0
        var firstFailure: ContinuousClock.Instant?
        var lastFailure: ContinuousClock.Instant?
    }

    static func run(_ arguments: BenchArguments) async throws {
        let seeds = try arguments.string("redis-urls").split(separator: ",").map {
            try RedisConfiguration(url: String($0))
        }
        let client = RedisClusterClient(
            seeds: seeds,
            poolConfiguration: ConnectionPoolConfiguration(minimumConnections: 0, maximumConnections: 16),
            logger: Logger(label: "failover-probe")
        )
        let refresher = Task { try await client.run() }
        defer { refresher.cancel() }
        try await client.refreshSlots()
        let prefix = "failover-probe:\(UInt32.random(in: 0...UInt32.max))"
        let untilFile = try? arguments.string("until-file")
        let deadline = ContinuousClock.now + .seconds(arguments.int("seconds", default: 30))
        let writers = arguments.int("writers", default: 8)
        let shared = Shared()

        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<writers {
                group.addTask {
                    while ContinuousClock.now < deadline {
                        if let untilFile, FileManager.default.fileExists(atPath: untilFile) { return }
                        let index = shared.next.add(1, ordering: .relaxed).oldValue
                        let key = "\(prefix):\(index)"
                        do {
                            _ = try await client.send(["SET", .init(key), .init(String(index))], routingKey: key)
                            shared.tally.withLock { $0.acknowledged.append(index) }
                        } catch {
                            let now = ContinuousClock.now
                            shared.tally.withLock { tally in
                                tally.failed += 1
                                tally.firstFailure = tally.firstFailure ?? now
                                tally.lastFailure = now
                            }
                            try? await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
            }
        }
        let written = shared.tally.withLock { $0 }
        // Every slot served again (the replica promoted), then each acknowledged key read back.
        let settled = ContinuousClock.now + .seconds(60)
        var lost = 0
        var unreadable = 0
        for index in written.acknowledged {
            let key = "\(prefix):\(index)"
            while true {
                do {
                    let value = try await client.send(["GET", .init(key)], routingKey: key)
                    if value.string != String(index) { lost += 1 }
                    break
                } catch {
                    guard ContinuousClock.now < settled else {
                        unreadable += 1
                        break
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        }
        var failingWindowMs = 0
        if let first = written.firstFailure, let last = written.lastFailure {
            failingWindowMs = Int((last - first) / .milliseconds(1))
        }
        report([
            "benchmark": "redis-cluster-failover",
            "acknowledged": written.acknowledged.count,
            "failedWrites": written.failed,
            "lostAcknowledged": lost,
            "unreadableAfter60s": unreadable,
            "failingWindowMs": failingWindowMs,
            "lostRatio": written.acknowledged.isEmpty ? 0 : Double(lost) / Double(written.acknowledged.count),
        ])
        // Cleans up what it wrote, best effort.
        for index in written.acknowledged {
            let key = "\(prefix):\(index)"
            _ = try? await client.send(["DEL", .init(key)], routingKey: key)
        }
        await client.shutdown()
    }
}
