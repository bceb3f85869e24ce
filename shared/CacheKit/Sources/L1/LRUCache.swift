/// A plain least-recently-used cache of keys, bounded by entries: the baseline the L1 policy is measured against
/// (simulator, benchmarks). Single-threaded; a doubly linked list threaded through arrays, so a hit is O(1).
public struct LRUCache {
    private var index: [String: Int] = [:]
    private var keys: [String] = []
    private var previous: [Int] = []
    private var next: [Int] = []
    private var head = -1
    private var tail = -1
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity > 0, "an LRU needs room for at least one key")
        self.capacity = capacity
        index.reserveCapacity(capacity)
    }

    public var count: Int { index.count }

    /// Looks `key` up; on a miss, inserts it (evicting the least recently used key when full). Returns whether it
    /// was a hit, as a cache in front of a loader would see it.
    public mutating func access(_ key: String) -> Bool {
        if let slot = index[key] {
            moveToFront(slot)
            return true
        }
        let slot: Int
        if index.count < capacity {
            slot = keys.count
            keys.append(key)
            previous.append(-1)
            next.append(-1)
        } else {
            slot = tail
            unlink(slot)
            index.removeValue(forKey: keys[slot])
            keys[slot] = key
        }
        index[key] = slot
        pushFront(slot)
        return false
    }

    private mutating func moveToFront(_ slot: Int) {
        guard slot != head else { return }
        unlink(slot)
        pushFront(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let before = previous[slot]
        let after = next[slot]
        if before >= 0 { next[before] = after } else { head = after }
        if after >= 0 { previous[after] = before } else { tail = before }
        previous[slot] = -1
        next[slot] = -1
    }

    private mutating func pushFront(_ slot: Int) {
        next[slot] = head
        previous[slot] = -1
        if head >= 0 { previous[head] = slot }
        head = slot
        if tail < 0 { tail = slot }
    }
}
