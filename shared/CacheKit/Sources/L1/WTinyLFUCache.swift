/// Window TinyLFU (Einziger, Friedman and Manes, 2017), as Caffeine shipped it before its window was made adaptive: a
/// reference policy for the simulator. New keys enter a window LRU of 1% of the capacity; a key leaving the window
/// is admitted to the main space (a segmented LRU: 20% probation, 80% protected) only if a frequency sketch says it
/// is seen more often than the main space's victim. The sketch is a count-min sketch of 4-bit counters, halved every
/// ten times the capacity of additions, so old popularity fades. Single-threaded; deterministic.
public struct WTinyLFUCache {
    public let capacity: Int
    private let windowCapacity: Int
    private let protectedCapacity: Int
    private var window = KeyList()
    private var probation = KeyList()
    private var protected = KeyList()
    private var sketch: FrequencySketch

    public init(capacity: Int, windowShare: Double = 0.01) {
        precondition(capacity > 0, "a W-TinyLFU cache needs room for at least one key")
        self.capacity = capacity
        windowCapacity = max(1, Int((Double(capacity) * windowShare).rounded()))
        protectedCapacity = Int(Double(max(0, capacity - windowCapacity)) * 0.8)
        sketch = FrequencySketch(capacity: capacity)
    }

    /// Keys held.
    public var count: Int { window.count + probation.count + protected.count }

    /// Looks `key` up; on a miss, inserts it (into the window; what leaves the window may be refused). Returns whether
    /// it was a hit.
    public mutating func access(_ key: String) -> Bool {
        sketch.increment(key)
        if window.contains(key) {
            window.moveToFront(key)
            return true
        }
        if protected.contains(key) {
            protected.moveToFront(key)
            return true
        }
        if probation.remove(key) {
            protected.pushFront(key)
            if protected.count > protectedCapacity, let demoted = protected.popBack() { probation.pushFront(demoted) }
            return true
        }
        window.pushFront(key)
        if window.count > windowCapacity, let candidate = window.popBack() { admit(candidate) }
        return false
    }

    /// A key leaving the window: into probation while the main space has room, else in place of the main space's
    /// victim only if it is the more frequent.
    private mutating func admit(_ candidate: String) {
        let mainCapacity = capacity - windowCapacity
        guard mainCapacity > 0 else { return }
        if probation.count + protected.count < mainCapacity {
            probation.pushFront(candidate)
            return
        }
        guard let victim = probation.back ?? protected.back else { return }
        guard sketch.frequency(candidate) > sketch.frequency(victim) else { return }
        if !probation.remove(victim) { protected.remove(victim) }
        probation.pushFront(candidate)
    }
}

/// A count-min sketch of 4-bit counters (four rows, at least as wide as the capacity), halved once it has counted
/// ten times the capacity: how often a key was seen recently, never underestimated while it is kept.
struct FrequencySketch {
    private var rows: [[UInt8]]
    private let mask: Int
    private let sampleSize: Int
    private var additions = 0
    private static let seeds: [UInt64] = [
        0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F, 0x1656_67B1_9E37_79F9, 0x27D4_EB2F_1656_67C5,
    ]

    init(capacity: Int) {
        var width = 16
        while width < capacity { width <<= 1 }
        rows = Array(repeating: Array(repeating: 0, count: width), count: Self.seeds.count)
        mask = width - 1
        sampleSize = 10 * max(1, capacity)
    }

    mutating func increment(_ key: String) {
        var added = false
        for (row, seed) in Self.seeds.enumerated() {
            let column = Int(KeyHash.hash(key, seed: seed) & UInt64(mask))
            if rows[row][column] < 15 {
                rows[row][column] += 1
                added = true
            }
        }
        guard added else { return }
        additions += 1
        if additions >= sampleSize { halve() }
    }

    func frequency(_ key: String) -> Int {
        var lowest = Int.max
        for (row, seed) in Self.seeds.enumerated() {
            lowest = min(lowest, Int(rows[row][Int(KeyHash.hash(key, seed: seed) & UInt64(mask))]))
        }
        return lowest
    }

    private mutating func halve() {
        for row in rows.indices {
            for column in rows[row].indices { rows[row][column] >>= 1 }
        }
        additions /= 2
    }
}
