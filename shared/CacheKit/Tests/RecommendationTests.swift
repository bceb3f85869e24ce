import Logging
import NIOCore
import Testing
import WedSyncCacheKit
import WedSyncModels
import WedSyncTestSupport

@Suite("Cache recommendations from the cache's own statistics")
struct RecommendationTests {
    func kinds(_ cache: MultiTierCache, _ namespace: String? = nil) -> [CacheRecommendation.Kind] {
        cache.recommendations().recommendations.filter { namespace == nil || $0.namespace == namespace }.map(\.kind)
    }

    @Test("Misses of values that had only expired argue for a longer TTL; repeat loads for warming")
    func raiseTTLAndWarm() async throws {
        let clock = ManualClock()
        let cache = makeCache(
            policy: NamespacePolicy(ttl: 10, staleWhileRevalidate: 0, failSafe: 1_000, eagerRefreshShare: 0),
            clock: clock
        )
        let loader = CountingLoader()
        for round in 0..<60 {
            _ = try await cache.get(
                try CacheAddress(namespace: "schedules", key: "day-\(round % 5)"),
                loader: loader.load()
            )
            clock.advance(11)
        }
        let found = cache.recommendations().recommendations
        let raise = try #require(found.first { $0.kind == .raiseTTL })
        #expect(raise.namespace == "schedules")
        #expect(raise.currentValue == 10 && raise.suggestedValue == 20)
        #expect((raise.estimatedHitRatioGain ?? 0) > 0)
        let warm = try #require(found.first { $0.kind == .warmKeys })
        #expect(Set(warm.keys ?? []) == Set((0..<5).map { "day-\($0)" }))
    }

    @Test("Hits only early in an entry's life argue for a shorter TTL")
    func lowerTTL() async throws {
        let clock = ManualClock()
        let cache = makeCache(policy: NamespacePolicy(ttl: 600, eagerRefreshShare: 0), clock: clock)
        let address = try CacheAddress(namespace: "dashboard", key: "org-1")
        try await cache.set(address, body: ByteBuffer(string: "x"), contentType: "text/plain")
        for _ in 0..<200 { _ = try await cache.get(address) }
        #expect(kinds(cache, "dashboard") == [.lowerTTL])
        for _ in 0..<200 { _ = try await cache.get(address) }
        clock.advance(400)
        for _ in 0..<100 { _ = try await cache.get(address) }
        #expect(kinds(cache, "dashboard").isEmpty, "late hits make the TTL worth its length")
    }

    @Test("A namespace with lookups and no hit is reported")
    func neverHit() async throws {
        let cache = makeCache(policy: NamespacePolicy(ttl: 60), clock: ManualClock())
        // A namespace exists once written: reads alone never create one.
        try await cache.set(
            try CacheAddress(namespace: "exports", key: "written"),
            body: ByteBuffer(string: "x"),
            contentType: "text/plain"
        )
        for index in 0..<60 { _ = try await cache.get(try CacheAddress(namespace: "exports", key: "k\(index)")) }
        #expect(kinds(cache, "exports") == [.neverHit])
    }

    @Test("A full L1 whose evicted keys keep being asked for should grow, with the gain estimated from its ghost queue")
    func growL1() async throws {
        let clock = ManualClock()
        let cache = MultiTierCache(
            configuration: .init(
                l1: L1Configuration(maximumEntries: 64, maximumBytes: 1 << 20, shards: 1),
                defaultPolicy: NamespacePolicy(ttl: 600),
                ttlJitter: 0,
                clock: { clock.now }
            ),
            logger: Logger(label: "test")
        )
        let loader = CountingLoader()
        for round in 0..<1_000 {
            _ = try await cache.get(
                try CacheAddress(namespace: "clients", key: "c\(round % 100)"),
                loader: loader.load()
            )
        }
        let grow = try #require(cache.recommendations().recommendations.first { $0.kind == .growL1 })
        #expect(grow.suggestedValue == 128)
        #expect((grow.estimatedHitRatioGain ?? 0) > 0.1)
        // And the estimate is honest: a cache of twice the size does hit that much more on the same stream.
        let small = CacheSimulator.hitRatio(
            (0..<1_000).map { "c\($0 % 100)" },
            capacity: 64,
            policy: .l1,
            shards: 1
        )
        let large = CacheSimulator.hitRatio(
            (0..<1_000).map { "c\($0 % 100)" },
            capacity: 128,
            policy: .l1,
            shards: 1
        )
        #expect(large - small >= (grow.estimatedHitRatioGain ?? 0) * 0.5)
    }

    @Test("Space-Saving keeps the frequent keys in bounded memory")
    func heavyHitters() {
        var hitters = HeavyHitters(capacity: 8)
        for round in 0..<10_000 {
            // Three keys of a fifth each, among thousands seen once: more than total/capacity, so guaranteed kept.
            hitters.record(round % 5 < 3 ? "hot-\(round % 5)" : "cold-\(round)")
        }
        #expect(Set(hitters.top(3).map(\.item)) == ["hot-0", "hot-1", "hot-2"])
    }
}
