/// Adaptive Replacement Cache (Megiddo and Modha, FAST 2003) over keys, bounded by entries: a reference policy for
/// the simulator. `T1` holds keys seen once recently and `T2` keys seen at least twice; the ghost lists `B1` and `B2`
/// remember keys evicted from each, and a hit in a ghost list moves the target size `p` of `T1` towards the list
/// that would have kept it, so the cache adapts between recency and frequency. Single-threaded.
public struct ARCCache {
    public let capacity: Int
    private var t1 = KeyList()
    private var t2 = KeyList()
    private var b1 = KeyList()
    private var b2 = KeyList()
    /// The target size of `T1`.
    private var p = 0.0

    public init(capacity: Int) {
        precondition(capacity > 0, "an ARC cache needs room for at least one key")
        self.capacity = capacity
    }

    /// Keys held (ghosts excluded).
    public var count: Int { t1.count + t2.count }

    /// Looks `key` up; on a miss, inserts it. Returns whether it was a hit.
    public mutating func access(_ key: String) -> Bool {
        if t1.remove(key) {
            t2.pushFront(key)
            return true
        }
        if t2.contains(key) {
            t2.moveToFront(key)
            return true
        }
        let c = Double(capacity)
        if b1.contains(key) {
            p = min(c, p + max(Double(b2.count) / Double(b1.count), 1))
            replace(ghostOfT2: false)
            b1.remove(key)
            t2.pushFront(key)
            return false
        }
        if b2.contains(key) {
            p = max(0, p - max(Double(b1.count) / Double(b2.count), 1))
            replace(ghostOfT2: true)
            b2.remove(key)
            t2.pushFront(key)
            return false
        }
        // A key seen in neither the cache nor the ghosts.
        if t1.count + b1.count == capacity {
            if t1.count < capacity {
                b1.popBack()
                replace(ghostOfT2: false)
            } else {
                t1.popBack()
            }
        } else if t1.count + t2.count + b1.count + b2.count >= capacity {
            if t1.count + t2.count + b1.count + b2.count == 2 * capacity { b2.popBack() }
            replace(ghostOfT2: false)
        }
        t1.pushFront(key)
        return false
    }

    /// Makes room: moves the least recent key of `T1` to `B1` when `T1` is over its target (or at it, for a key
    /// found in `B2`), else the least recent key of `T2` to `B2`.
    private mutating func replace(ghostOfT2: Bool) {
        if !t1.isEmpty, Double(t1.count) > p || (ghostOfT2 && Double(t1.count) == p) {
            if let key = t1.popBack() { b1.pushFront(key) }
        } else if let key = t2.popBack() {
            b2.pushFront(key)
        } else if let key = t1.popBack() {
            b1.pushFront(key)
        }
    }
}
