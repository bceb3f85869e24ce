/// Window TinyLFU with a static window (Einziger, Friedman and Manes, 2017), as Caffeine shipped it before version 3:
/// a reference policy for the simulator. New keys enter a window LRU of 1% of the capacity; a key leaving the window
/// is admitted to the main space (a segmented LRU: 20% probation, 80% protected) only if a frequency sketch (no
/// doorkeeper) says it is seen more often than the main space's victim. Single-threaded; deterministic.
public struct TinyLFUCache {
    public let capacity: Int
    private let windowCapacity: Int
    private var window = KeyList()
    private var probation = KeyList()
    private var protected = KeyList()
    private var sketch: FrequencySketch

    /// A cache of `capacity` keys whose window is 1% of it.
    public init(capacity: Int) {
        precondition(capacity > 0, "a TinyLFU cache needs room for at least one key")
        self.capacity = capacity
        windowCapacity = max(1, Int((Double(capacity) * 0.01).rounded()))
        sketch = FrequencySketch(capacity: capacity)
    }

    /// Keys held.
    public var count: Int { window.count + probation.count + protected.count }

    private var mainCapacity: Int { capacity - windowCapacity }
    private var protectedCapacity: Int { Int(Double(mainCapacity) * 0.8) }

    /// Looks `key` up; on a miss, inserts it into the window. Returns whether it was a hit.
    public mutating func access(_ key: String) -> Bool {
        sketch.record(Self.hash(key))
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
        while window.count > windowCapacity, let candidate = window.popBack() { admit(candidate) }
        return false
    }

    private static func hash(_ key: String) -> UInt64 { KeyHash.hash(key, seed: 0) }

    /// Into probation while the main space has room, else in place of its victim only if more frequent.
    private mutating func admit(_ candidate: String) {
        guard mainCapacity > 0 else { return }
        if probation.count + protected.count < mainCapacity {
            probation.pushFront(candidate)
            return
        }
        guard let victim = probation.back ?? protected.back else { return }
        guard sketch.frequency(Self.hash(candidate)) > sketch.frequency(Self.hash(victim)) else { return }
        if !probation.remove(victim) { protected.remove(victim) }
        probation.pushFront(candidate)
    }
}
