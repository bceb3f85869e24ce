/// How often keys were seen lately, for TinyLFU's admission (Einziger, Friedman and Manes, 2017): a count-min sketch
/// of counters up to 15 (four rows, each at least as wide as the capacity), halved every ten times the capacity in
/// sightings so that old popularity fades. Keys come as 64-bit hashes: the caller picks the hash (Swift's in the
/// services, a seeded ``KeyHash`` where runs must repeat).
struct FrequencySketch: Sendable {
    private var counters: [UInt8]
    private let mask: UInt64
    private let width: Int
    private let samplePeriod: Int
    private var sightings = 0

    /// A sketch sized for `capacity` keys.
    init(capacity: Int) {
        var width = 16
        while width < capacity { width <<= 1 }
        self.width = width
        mask = UInt64(width - 1)
        counters = Array(repeating: 0, count: 4 * width)
        samplePeriod = 10 * max(1, capacity)
    }

    /// Counts a sighting of the key with `hash`.
    mutating func record(_ hash: UInt64) {
        let (low, high) = Self.split(hash)
        for row in 0..<4 {
            let slot = row * width + Int((low &+ UInt64(row) &* high) & mask)
            if counters[slot] < 15 { counters[slot] += 1 }
        }
        sightings += 1
        if sightings >= samplePeriod { halve() }
    }

    /// The estimated sightings of the key with `hash` since the counters were last halved (at most 15).
    func frequency(_ hash: UInt64) -> Int {
        let (low, high) = Self.split(hash)
        var lowest = UInt8.max
        for row in 0..<4 { lowest = min(lowest, counters[row * width + Int((low &+ UInt64(row) &* high) & mask)]) }
        return Int(lowest)
    }

    /// Two independent halves of a well-mixed hash (murmur3's finaliser), the second odd: double hashing picks each
    /// row's counter.
    private static func split(_ hash: UInt64) -> (UInt64, UInt64) {
        var mixed = hash
        mixed ^= mixed >> 33
        mixed &*= 0xff51_afd7_ed55_8ccd
        mixed ^= mixed >> 33
        mixed &*= 0xc4ce_b9fe_1a85_ec53
        mixed ^= mixed >> 33
        return (mixed & 0xffff_ffff, (mixed >> 32) | 1)
    }

    private mutating func halve() {
        sightings = 0
        for index in counters.indices { counters[index] >>= 1 }
    }
}
