/// Window TinyLFU (Einziger, Friedman and Manes, 2017): new keys enter a window LRU; a key leaving the window is
/// admitted to the main space (a segmented LRU: 20% probation, 80% protected) only if a frequency sketch says it is
/// seen more often than the main space's victim. The sketch is a count-min sketch of 4-bit counters, halved every ten
/// times the capacity of additions, so old popularity fades. Single-threaded; deterministic.
///
/// Two forms, for the simulator:
/// - **static** (`adaptive: false`): a window of 1% of the capacity and no doorkeeper, as Caffeine shipped it before
///   version 3: a reference policy;
/// - **adaptive** (the default), after Einziger et al., "Adaptive Software Cache Management" (Middleware 2018), as
///   Caffeine does since version 3: a hill climber samples the hit ratio every ten times the capacity in accesses and
///   moves the window's share one step in the direction that last helped, reversing when the ratio fell, with steps
///   that shrink as it settles. A growing window takes its room from the main space's least recent keys (kept, moved
///   to the window); a shrinking one sends its least recent keys to admission. A doorkeeper (a Bloom filter) takes a
///   key's first sighting since the last halving, so one-offs never take a counter. The candidate policy for L1.
public struct TinyLFUCache {
    public let capacity: Int
    private var windowCapacity: Int
    private var window = KeyList()
    private var probation = KeyList()
    private var protected = KeyList()
    private var sketch: FrequencySketch
    /// `nil` in the static form.
    private var doorkeeper: Doorkeeper?
    /// Whether the hill climber moves the window.
    public let adaptive: Bool

    // The hill climber.
    private let samplePeriod: Int
    private var sampleAccesses = 0
    private var sampleHits = 0
    private var previousRatio: Double?
    /// Keys of capacity the window moves by at the next adjustment (negative: shrink).
    private var step: Double

    /// A cache of `capacity` keys whose window starts at 1% of it; `adaptive: false` for the static form.
    public init(capacity: Int, adaptive: Bool = true) {
        precondition(capacity > 0, "a TinyLFU cache needs room for at least one key")
        self.capacity = capacity
        self.adaptive = adaptive
        windowCapacity = max(1, Int((Double(capacity) * 0.01).rounded()))
        sketch = FrequencySketch(capacity: capacity)
        doorkeeper = adaptive ? Doorkeeper(capacity: capacity) : nil
        samplePeriod = 10 * capacity
        step = max(1, Double(capacity) * 0.0625)
    }

    /// Keys held.
    public var count: Int { window.count + probation.count + protected.count }

    /// The window's share of the capacity now, in keys.
    public var currentWindow: Int { windowCapacity }

    private var mainCapacity: Int { capacity - windowCapacity }
    private var protectedCapacity: Int { Int(Double(mainCapacity) * 0.8) }

    /// Looks `key` up; on a miss, inserts it into the window. Returns whether it was a hit.
    public mutating func access(_ key: String) -> Bool {
        record(key)
        let hit = lookUp(key)
        guard adaptive else { return hit }
        sampleAccesses += 1
        if hit { sampleHits += 1 }
        if sampleAccesses >= samplePeriod { climb() }
        return hit
    }

    private mutating func lookUp(_ key: String) -> Bool {
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
            while protected.count > protectedCapacity, let demoted = protected.popBack() {
                probation.pushFront(demoted)
            }
            return true
        }
        window.pushFront(key)
        evictFromWindow()
        return false
    }

    /// A sighting: the doorkeeper (if any) takes a key's first since the last halving, the sketch the later ones.
    private mutating func record(_ key: String) {
        guard doorkeeper?.insert(key) ?? true else { return }
        if sketch.increment(key) { doorkeeper?.clear() }
    }

    private func frequency(_ key: String) -> Int {
        sketch.frequency(key) + (doorkeeper?.contains(key) == true ? 1 : 0)
    }

    /// Sends the window's least recent keys beyond its capacity to admission.
    private mutating func evictFromWindow() {
        while window.count > windowCapacity, let candidate = window.popBack() { admit(candidate) }
    }

    /// Into probation while the main space has room, else in place of its victim only if more frequent.
    private mutating func admit(_ candidate: String) {
        guard mainCapacity > 0 else { return }
        if probation.count + protected.count < mainCapacity {
            probation.pushFront(candidate)
            return
        }
        guard let victim = probation.back ?? protected.back else { return }
        guard frequency(candidate) > frequency(victim) else { return }
        if !probation.remove(victim) { protected.remove(victim) }
        probation.pushFront(candidate)
    }

    /// One step of the hill climber at the end of a sample.
    private mutating func climb() {
        let ratio = Double(sampleHits) / Double(sampleAccesses)
        if let previousRatio, ratio < previousRatio { step = -step }
        previousRatio = ratio
        sampleAccesses = 0
        sampleHits = 0
        resizeWindow(by: Int(step.rounded()))
        // Steps shrink as the climber settles, never below one key.
        step = (abs(step) * 0.98 < 1 ? 1 : abs(step) * 0.98) * (step < 0 ? -1 : 1)
    }

    private mutating func resizeWindow(by delta: Int) {
        let target = min(capacity - 1, max(1, windowCapacity + delta))
        guard target != windowCapacity, capacity > 1 else { return }
        windowCapacity = target
        if delta < 0 {
            evictFromWindow()
        } else {
            // The main space shrank: its least recent probation keys (then protected) move to the window's back.
            while probation.count + protected.count > mainCapacity {
                guard let moved = probation.popBack() ?? protected.popBack() else { break }
                window.pushBack(moved)
            }
        }
        while protected.count > protectedCapacity, let demoted = protected.popBack() { probation.pushFront(demoted) }
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

    /// Counts a sighting of `key`; whether the counters were halved after it.
    @discardableResult
    mutating func increment(_ key: String) -> Bool {
        var added = false
        for (row, seed) in Self.seeds.enumerated() {
            let column = Int(KeyHash.hash(key, seed: seed) & UInt64(mask))
            if rows[row][column] < 15 {
                rows[row][column] += 1
                added = true
            }
        }
        guard added else { return false }
        additions += 1
        guard additions >= sampleSize else { return false }
        halve()
        return true
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

/// A Bloom filter of the keys seen once since the sketch last halved (three bits a key over eight bits per key of
/// capacity): the TinyLFU doorkeeper.
struct Doorkeeper {
    private var bits: [UInt64]
    private let mask: UInt64
    private static let seeds: [UInt64] = [0x243F_6A88_85A3_08D3, 0x1319_8A2E_0370_7344, 0xA409_3822_299F_31D0]

    init(capacity: Int) {
        var size: UInt64 = 64
        while size < UInt64(8 * max(1, capacity)) { size <<= 1 }
        bits = Array(repeating: 0, count: Int(size / 64))
        mask = size - 1
    }

    func contains(_ key: String) -> Bool {
        Self.seeds.allSatisfy { seed in
            let bit = KeyHash.hash(key, seed: seed) & mask
            return bits[Int(bit >> 6)] & (1 << (bit & 63)) != 0
        }
    }

    /// Adds `key`; whether it was there already (false: this is its first sighting).
    mutating func insert(_ key: String) -> Bool {
        var present = true
        for seed in Self.seeds {
            let bit = KeyHash.hash(key, seed: seed) & mask
            let word = Int(bit >> 6)
            let flag: UInt64 = 1 << (bit & 63)
            if bits[word] & flag == 0 {
                present = false
                bits[word] |= flag
            }
        }
        return present
    }

    mutating func clear() {
        for index in bits.indices { bits[index] = 0 }
    }
}
