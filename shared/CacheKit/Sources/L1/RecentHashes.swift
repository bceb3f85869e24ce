import DequeModule

/// The hashes of the last `capacity` keys added, in a FIFO with a set beside it: the ghosts of a cache policy, which
/// remember keys recently pushed out so that their return can be told apart from a first sighting.
struct RecentHashes: Sendable {
    private var order = Deque<(hash: Int, stamp: UInt64)>()
    /// Each remembered hash with the stamp of its latest addition: a popped entry whose stamp is outdated (the key was
    /// added again since) does not erase the newer one.
    private var stamps: [Int: UInt64] = [:]
    private var nextStamp: UInt64 = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    mutating func add(_ hash: Int) {
        guard capacity > 0 else { return }
        nextStamp &+= 1
        stamps[hash] = nextStamp
        order.append((hash, nextStamp))
        while order.count > capacity, let oldest = order.popFirst() {
            if stamps[oldest.hash] == oldest.stamp { stamps.removeValue(forKey: oldest.hash) }
        }
    }

    /// Forgets `hash`; whether it was remembered.
    mutating func remove(_ hash: Int) -> Bool { stamps.removeValue(forKey: hash) != nil }

    mutating func removeAll() {
        order.removeAll()
        stamps.removeAll()
    }
}
