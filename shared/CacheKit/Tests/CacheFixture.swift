import Crypto
import Foundation
import Logging
import NIOCore
import Synchronization
import WedSyncCacheKit
import WedSyncConnectionPool
import WedSyncRedis
import WedSyncTestSupport

/// A ``MultiTierCache`` on a real Redis (L2 and backplane), as one process of a deployment holds it.
final class RedisBackedCache: Sendable {
    let cache: MultiTierCache
    let redis: RedisClient
    private let runner: Task<Void, any Error>

    init(
        url: String,
        policy: NamespacePolicy = NamespacePolicy(ttl: 60),
        codec: L2Codec = .init(),
        l2RetryInterval: Duration = .milliseconds(200),
        maximumConnections: Int = 8
    ) throws {
        let configuration = try RedisConfiguration(url: url)
        redis = RedisClient(
            configuration: configuration,
            poolConfiguration: .init(minimumConnections: 0, maximumConnections: maximumConnections),
            logger: Logger(label: "test")
        )
        cache = MultiTierCache(
            configuration: .init(
                defaultPolicy: policy,
                ttlJitter: 0,
                l2RetryInterval: l2RetryInterval,
                outageL1TTL: 1,
                backplane: configuration
            ),
            l2: RedisL2Store(redis: redis, codec: codec),
            logger: Logger(label: "test")
        )
        let cache = self.cache
        runner = Task { try await cache.run() }
    }

    /// Waits until the backplane is subscribed (so invalidations from others arrive).
    func ready() async throws {
        guard await eventually(timeout: .seconds(10), { cache.isBackplaneLive }) else {
            throw ServiceProcessError(message: "the cache backplane never came up")
        }
    }

    /// Two processes on one Redis, both subscribed to the backplane.
    static func pair(url: String, policy: NamespacePolicy = NamespacePolicy(ttl: 60)) async throws -> (
        RedisBackedCache, RedisBackedCache
    ) {
        let (a, b) = (try RedisBackedCache(url: url, policy: policy), try RedisBackedCache(url: url, policy: policy))
        try await a.ready()
        try await b.ready()
        return (a, b)
    }

    func stop() async {
        runner.cancel()
        _ = await runner.result
        await redis.shutdown()
    }

    deinit { runner.cancel() }
}

extension CacheLookup {
    var text: String { String(buffer: entry.body) }
}

/// A counter closures can share.
final class Counter: Sendable {
    private let storage = Atomic<Int>(0)
    var value: Int { storage.load(ordering: .relaxed) }
    @discardableResult
    func increment() -> Int { storage.add(1, ordering: .relaxed).newValue }
}

/// A real Redis client that counts the round trips sent through it (a command, a pipeline or a script each count
/// one), for tests of how many a cache operation takes.
final class CountingRedis: RedisKeyRouting {
    let redis: RedisClient
    private let trips = Atomic<Int>(0)

    init(_ redis: RedisClient) {
        self.redis = redis
    }

    /// Round trips so far.
    var roundTrips: Int { trips.load(ordering: .relaxed) }

    private func count() {
        trips.add(1, ordering: .relaxed)
    }

    var isSingleNode: Bool { redis.isSingleNode }

    func send(_ arguments: [RedisArgument], routingKey key: String) async throws -> RedisValue {
        count()
        return try await redis.send(arguments, routingKey: key)
    }

    func pipeline(_ commands: [[RedisArgument]], routingKey key: String) async throws -> [RedisValue] {
        count()
        return try await redis.pipeline(commands, routingKey: key)
    }

    func evaluate(_ script: RedisScript, keys: [String], arguments: [RedisArgument]) async throws -> RedisValue {
        count()
        return try await redis.evaluate(script, keys: keys, arguments: arguments)
    }

    func scanKeys(matching pattern: String, count: Int) async throws -> [String] {
        self.count()
        return try await redis.scanKeys(matching: pattern, count: count)
    }

    func publish(_ message: [UInt8], to channel: String) async throws -> Int {
        count()
        return try await redis.publish(message, to: channel)
    }

    func ping() async throws {
        count()
        try await redis.ping()
    }
}
