import Testing
import WedSyncCacheKit
import WedSyncTestSupport

@Suite("L1: Window TinyLFU shards bounded by entries and bytes")
struct L1CacheTests {
    @Test("Never holds more entries or bytes than configured")
    func bounded() {
        let cache = L1Cache<Int>(configuration: L1Configuration(maximumEntries: 1_000, maximumBytes: 50_000, shards: 4))
        for index in 0..<20_000 {
            cache.set("k\(index)", index, cost: 10 + index % 90, retainUntil: 1_000, now: 0)
            if index % 1_000 == 0 {
                let statistics = cache.statistics
                #expect(statistics.entries <= 1_000)
                #expect(statistics.bytes <= 50_000)
            }
        }
        let statistics = cache.statistics
        #expect(statistics.entries > 0)
        #expect(statistics.evictions > 0)
    }

    @Test("A value larger than a shard allows is refused, not stored")
    func oversized() {
        let cache = L1Cache<Int>(configuration: L1Configuration(maximumEntries: 100, maximumBytes: 1_000, shards: 1))
        #expect(!cache.set("big", 1, cost: 800, retainUntil: 10, now: 0))
        #expect(cache.get("big", now: 0) == nil)
    }

    @Test("Entries past their retention are not served, and the sweep frees them")
    func expiry() {
        let cache = L1Cache<String>(
            configuration: L1Configuration(maximumEntries: 100, maximumBytes: 10_000, shards: 2)
        )
        cache.set("a", "1", cost: 1, retainUntil: 10, now: 0)
        cache.set("b", "2", cost: 1, retainUntil: 20, now: 0)
        #expect(cache.get("a", now: 9.9) == "1")
        #expect(cache.get("a", now: 10) == nil)
        #expect(cache.reclaimExpired(now: 30) == 1)
        #expect(cache.statistics.entries == 0)
    }

    @Test("Removal by key and by prefix, and an inspection that rejects the entry drops it")
    func removal() {
        let cache = L1Cache<Int>(configuration: L1Configuration(maximumEntries: 100, maximumBytes: 10_000, shards: 4))
        for index in 0..<10 { cache.set("ns/a\(index)", index, cost: 1, retainUntil: 10, now: 0) }
        cache.set("ns/b", 99, cost: 1, retainUntil: 10, now: 0)
        #expect(cache.removeAll { $0.hasPrefix("ns/a") } == 10)
        #expect(cache.get("ns/b", now: 0) == 99)
        #expect(cache.get("ns/b", now: 0, inspect: { _ in false }) == nil)
        #expect(cache.get("ns/b", now: 0) == nil)
    }

    @Test("An older version does not replace a newer one")
    func replaceGuard() {
        let cache = L1Cache<Int>(configuration: L1Configuration(maximumEntries: 10, maximumBytes: 1_000, shards: 1))
        cache.set("k", 5, cost: 1, retainUntil: 10, now: 0)
        #expect(!cache.set("k", 3, cost: 1, retainUntil: 10, now: 0) { existing in existing <= 3 })
        #expect(cache.get("k", now: 0) == 5)
    }

    @Test(
        "A write that says stored can be read back, a value over the window's bytes included; bounds hold through attachments; removals and the sweep leave the totals right"
    )
    func bookkeeping() {
        let cache = L1Cache<Int>(configuration: L1Configuration(maximumEntries: 100, maximumBytes: 10_000, shards: 1))
        // The window starts with 1% of the bytes (100): a value of 3,000 is over it on its own.
        #expect(cache.set("big", 1, cost: 3_000, retainUntil: 100, now: 0))
        #expect(cache.get("big", now: 0) == 1)
        for index in 0..<2_000 {
            let key = "k\(index % 300)"
            let stored = cache.set(key, index, cost: 20 + index % 70, retainUntil: index % 5 == 0 ? 5 : 100, now: 0)
            if stored { #expect(cache.get(key, now: 0) == index, "\(key) was said stored") }
            let statistics = cache.statistics
            #expect(statistics.entries <= 100 && statistics.bytes <= 10_000, "\(statistics)")
            if index % 7 == 0 { cache.attach(key, now: 0, extraCost: 30) { _ in true } }
        }
        // The sweep finds the expired entries wherever their slots were reused.
        _ = cache.reclaimExpired(now: 10, budgetPerShard: 1_000)
        #expect(cache.get("k0", now: 10) == nil)
        let live = cache.statistics.entries
        #expect(live > 0)
        #expect(cache.removeAll { _ in true } == live)
        #expect(cache.statistics.entries == 0 && cache.statistics.bytes == 0)
        #expect(cache.reclaimExpired(now: 10, budgetPerShard: -1) == 0)
    }

    @Test("A hot set survives a sequential scan that flushes an LRU of the same size")
    func scanResistance() {
        let capacity = 1_000
        let l1 = L1Cache<Int>(
            configuration: L1Configuration(maximumEntries: capacity, maximumBytes: 1 << 30, shards: 1)
        )
        var lru = LRUCache(capacity: capacity)
        let hot = (0..<500).map { "hot\($0)" }
        for _ in 0..<5 {
            for key in hot {
                if l1.get(key, now: 0) == nil { l1.set(key, 0, cost: 1, retainUntil: 100, now: 0) }
                _ = lru.access(key)
            }
        }
        for index in 0..<5_000 {
            let key = "scan\(index)"
            if l1.get(key, now: 0) == nil { l1.set(key, 0, cost: 1, retainUntil: 100, now: 0) }
            _ = lru.access(key)
        }
        let l1Survivors = hot.filter { l1.get($0, now: 0) != nil }.count
        let lruSurvivors = hot.filter { lru.access($0) }.count
        #expect(lruSurvivors == 0)
        #expect(l1Survivors > 450)
    }

    @Test("Beats LRU on a Zipf(0.99) trace and on Zipf mixed with scans")
    func beatsLRU() {
        var generator = ZipfGenerator(keys: 20_000, exponent: 0.99, seed: 7)
        var zipf: [String] = []
        var mixed: [String] = []
        var scanned = 0
        for index in 0..<200_000 {
            let key = "k\(generator.next())"
            zipf.append(key)
            mixed.append(key)
            if index % 10 == 0 {
                for _ in 0..<3 {
                    mixed.append("scan\(scanned)")
                    scanned += 1
                }
            }
        }
        for trace in [zipf, mixed] {
            let l1 = CacheSimulator.hitRatio(trace, capacity: 1_000, policy: .l1)
            let lru = CacheSimulator.hitRatio(trace, capacity: 1_000, policy: .lru)
            #expect(l1 > lru, "L1 \(l1) vs LRU \(lru)")
        }
    }
}
