/// How often keys were seen lately, for TinyLFU's admission (Einziger, Friedman and Manes, 2017): a count-min sketch
/// of counters up to 15, halved every ten times the capacity in sightings so that old popularity fades. Keys come as
/// 64-bit hashes: the caller picks the hash (Swift's in the services, a seeded ``KeyHash`` where runs must repeat).
///
/// Blocked, as Caffeine's is: a key's four counters lie in one 64-byte block (one in each 16-byte quarter), so a
/// sighting touches one cache line rather than four scattered ones. The table holds four counters a key of capacity,
/// as four rows of the capacity's width would.
struct FrequencySketch: Sendable {
    private var counters: [UInt8]
    /// Where the first whole 64-byte block starts in `counters` (its storage is not moved: it is never resized).
    private let base: Int
    private let blockMask: UInt64
    private let samplePeriod: Int
    private var sightings = 0

    static let blockBytes = 64

    /// A sketch sized for `capacity` keys.
    init(capacity: Int) {
        var width = 16
        while width < capacity { width <<= 1 }
        let blocks = max(1, 4 * width / Self.blockBytes)
        blockMask = UInt64(blocks - 1)
        counters = Array(repeating: 0, count: blocks * Self.blockBytes + Self.blockBytes)
        let address = counters.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) }
        base = (Self.blockBytes - address % Self.blockBytes) % Self.blockBytes
        samplePeriod = 10 * max(1, capacity)
    }

    /// The four counters' places of the key with `hash`: its block, then a counter in each quarter of it.
    @inline(__always)
    private func slots(_ hash: UInt64) -> (Int, Int, Int, Int) {
        let (low, high) = Self.split(hash)
        let block = base + Int(low & blockMask) * Self.blockBytes
        return (
            block + Int(high & 15), block + 16 + Int((high >> 8) & 15), block + 32 + Int((high >> 16) & 15),
            block + 48 + Int((high >> 24) & 15)
        )
    }

    /// Counts a sighting of the key with `hash`.
    mutating func record(_ hash: UInt64) {
        let (a, b, c, d) = slots(hash)
        counters.withUnsafeMutableBufferPointer { counters in
            if counters[a] < 15 { counters[a] += 1 }
            if counters[b] < 15 { counters[b] += 1 }
            if counters[c] < 15 { counters[c] += 1 }
            if counters[d] < 15 { counters[d] += 1 }
        }
        sightings += 1
        if sightings >= samplePeriod { halve() }
    }

    /// The estimated sightings of the key with `hash` since the counters were last halved (at most 15).
    func frequency(_ hash: UInt64) -> Int {
        let (a, b, c, d) = slots(hash)
        return counters.withUnsafeBufferPointer { counters in
            Int(min(min(counters[a], counters[b]), min(counters[c], counters[d])))
        }
    }

    /// Two independent halves of a well-mixed hash (murmur3's finaliser): the block, and the counters within it.
    private static func split(_ hash: UInt64) -> (UInt64, UInt64) {
        var mixed = hash
        mixed ^= mixed >> 33
        mixed &*= 0xff51_afd7_ed55_8ccd
        mixed ^= mixed >> 33
        mixed &*= 0xc4ce_b9fe_1a85_ec53
        mixed ^= mixed >> 33
        return (mixed >> 32, mixed & 0xffff_ffff)
    }

    private mutating func halve() {
        sightings = 0
        counters.withUnsafeMutableBufferPointer { counters in
            for index in counters.indices { counters[index] >>= 1 }
        }
    }
}
