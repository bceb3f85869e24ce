import Foundation

/// Replays a key trace through a cache policy and counts hits, so an operator can size L1 before a season
/// (`wedsync-cache simulate`) and the benchmarks can compare the L1 policy with LRU on the same trace.
public enum CacheSimulator {
    public enum Policy: String, Sendable, CaseIterable {
        /// The real L1 (``L1Cache``: adaptive Window TinyLFU in shards), with the service's default shard count.
        case l1
        /// Plain least-recently-used, the baseline.
        case lru
        /// Adaptive Replacement Cache (``ARCCache``), a reference.
        case arc
        /// Window TinyLFU with a static 1% window (``TinyLFUCache``), a reference.
        case wtinylfu
    }

    /// The seed of the shard choice when none is given: the same answer for the same trace, in every run.
    public static let defaultSeed: UInt64 = 0x5EED

    /// Hits over accesses when `trace` is replayed through `policy` holding `capacity` keys; every miss inserts.
    /// Deterministic: the L1's shards and sketch counters are chosen by a hash of each key seeded with `seed`, not by
    /// Swift's per-process hash.
    public static func hitRatio(
        _ trace: some Sequence<String>,
        capacity: Int,
        policy: Policy,
        shards: Int = L1Configuration().shards,
        seed: UInt64 = defaultSeed
    ) -> Double {
        var hits = 0
        var accesses = 0
        /// Each key looked up once in order; `access` answers whether it was a hit (and inserts on a miss).
        func replay(_ access: (String) -> Bool) {
            for key in trace {
                accesses += 1
                if access(key) { hits += 1 }
            }
        }
        switch policy {
        case .lru:
            var lru = LRUCache(capacity: capacity)
            replay { lru.access($0) }
        case .arc:
            var arc = ARCCache(capacity: capacity)
            replay { arc.access($0) }
        case .wtinylfu:
            var tinyLFU = TinyLFUCache(capacity: capacity)
            replay { tinyLFU.access($0) }
        case .l1:
            let l1 = L1Cache<Bool>(
                configuration: L1Configuration(
                    maximumEntries: capacity,
                    maximumBytes: Int.max / 2,
                    shards: shards,
                    shardSeed: seed
                )
            )
            replay { key in
                guard l1.get(key, now: 0) == nil else { return true }
                l1.set(key, true, cost: 1, retainUntil: .infinity, now: 0)
                return false
            }
        }
        return accesses == 0 ? 0 : Double(hits) / Double(accesses)
    }
}

/// Keys drawn from a Zipf distribution over `0..<keys` (rank 0 the most popular), as in the published cache
/// traces; deterministic for a seed.
public struct ZipfGenerator: Sendable {
    private let cumulative: [Double]
    private var random: SplitMix

    public init(keys: Int, exponent: Double, seed: UInt64) {
        var total = 0.0
        var cumulative: [Double] = []
        cumulative.reserveCapacity(keys)
        for rank in 1...max(1, keys) {
            total += 1 / pow(Double(rank), exponent)
            cumulative.append(total)
        }
        self.cumulative = cumulative.map { $0 / total }
        self.random = SplitMix(seed: seed &+ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next key's rank.
    public mutating func next() -> Int {
        let uniform = Double(random.next() >> 11) / Double(1 << 53)
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < uniform { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
