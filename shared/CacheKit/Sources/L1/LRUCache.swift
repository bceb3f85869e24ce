/// A plain least-recently-used cache of keys, bounded by entries: the baseline the L1 policy is measured against
/// (simulator, benchmarks). Single-threaded; a hit is O(1) (``KeyList``).
public struct LRUCache {
    private var keys = KeyList()
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity > 0, "an LRU needs room for at least one key")
        self.capacity = capacity
    }

    public var count: Int { keys.count }

    /// Looks `key` up; on a miss, inserts it (evicting the least recently used key when full). Returns whether it
    /// was a hit, as a cache in front of a loader would see it.
    public mutating func access(_ key: String) -> Bool {
        if keys.contains(key) {
            keys.moveToFront(key)
            return true
        }
        if keys.count == capacity { keys.popBack() }
        keys.pushFront(key)
        return false
    }
}
