/// Synthetic key traces of the access patterns that tell cache policies apart, generated deterministically from a
/// seed and sized from the cache's capacity: the families the L1 policy is judged on beside the reference policies
/// (`wedsync-cache simulate --workload NAME`). No static policy wins all of them.
public enum Workload: Sendable, Equatable {
    /// Zipf popularity with `exponent` over twenty times the capacity in keys: frequency matters.
    case zipf(exponent: Double)
    /// The same `1.2 ×` capacity keys read in turn, again and again: LRU keeps none of them.
    case loop
    /// A working set of half the capacity, read with Zipf(0.8) popularity, replaced by a disjoint one every ten times
    /// the capacity in accesses: recency matters, and old frequency misleads.
    case phases
    /// A hot set of a fifth of the capacity, read with Zipf(0.8) popularity, interrupted every five times the capacity
    /// in accesses by a scan of twice the capacity in keys never seen again.
    case scans
    /// Seven accesses in ten to a pool of 30% of the capacity, three to a pool of ten times the capacity, each uniform.
    case twoPools

    /// The families by name, as `--workload` takes them.
    public static let named: [String: Workload] = [
        "zipf-0.6": .zipf(exponent: 0.6), "zipf-0.8": .zipf(exponent: 0.8), "zipf-1.0": .zipf(exponent: 1.0),
        "zipf-1.2": .zipf(exponent: 1.2), "loop": .loop, "phases": .phases, "scans": .scans, "two-pools": .twoPools,
    ]

    /// `accesses` keys of this family for a cache of `capacity` keys; the same for the same arguments.
    public func trace(accesses: Int, capacity: Int, seed: UInt64) -> [String] {
        var random = SplitMix(seed: seed)
        var keys: [String] = []
        keys.reserveCapacity(accesses)
        switch self {
        case .zipf(let exponent):
            var zipf = ZipfGenerator(keys: 20 * capacity, exponent: exponent, seed: seed)
            for _ in 0..<accesses { keys.append("z\(zipf.next())") }
        case .loop:
            let length = max(2, capacity * 6 / 5)
            for index in 0..<accesses { keys.append("l\(index % length)") }
        case .phases:
            let size = max(1, capacity / 2)
            var zipf = ZipfGenerator(keys: size, exponent: 0.8, seed: seed)
            let phase = 10 * capacity
            for index in 0..<accesses { keys.append("p\(index / phase)-\(zipf.next())") }
        case .scans:
            let hot = max(1, capacity / 5)
            var zipf = ZipfGenerator(keys: hot, exponent: 0.8, seed: seed)
            let between = 5 * capacity
            var scanned = 0
            while keys.count < accesses {
                for _ in 0..<between where keys.count < accesses { keys.append("h\(zipf.next())") }
                for _ in 0..<(2 * capacity) where keys.count < accesses {
                    keys.append("s\(scanned)")
                    scanned += 1
                }
            }
        case .twoPools:
            let small = max(1, capacity * 3 / 10)
            let large = 10 * capacity
            for _ in 0..<accesses {
                if random.next() % 10 < 7 {
                    keys.append("a\(random.next() % UInt64(small))")
                } else {
                    keys.append("b\(random.next() % UInt64(large))")
                }
            }
        }
        return keys
    }
}

/// splitmix64: a small, fast generator that is the same everywhere for a seed.
struct SplitMix {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
