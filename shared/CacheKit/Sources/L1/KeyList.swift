/// Keys in recency order (front the most recent), each at most once, with O(1) insertion at the front, removal,
/// move to the front and removal from the back: the queues of the reference policies (``ARCCache``,
/// ``TinyLFUCache``). A doubly linked list threaded through arrays, its slots reused.
struct KeyList {
    private var index: [String: Int] = [:]
    private var keys: [String] = []
    private var previous: [Int] = []
    private var next: [Int] = []
    private var free: [Int] = []
    private var head = -1
    private var tail = -1

    var count: Int { index.count }
    var isEmpty: Bool { index.isEmpty }

    func contains(_ key: String) -> Bool { index[key] != nil }

    /// The least recent key.
    var back: String? { tail >= 0 ? keys[tail] : nil }

    /// Puts `key` (not in the list) at the front.
    mutating func pushFront(_ key: String) {
        let slot: Int
        if let reused = free.popLast() {
            slot = reused
            keys[slot] = key
        } else {
            slot = keys.count
            keys.append(key)
            previous.append(-1)
            next.append(-1)
        }
        index[key] = slot
        linkAtFront(slot)
    }

    /// Puts `key` (not in the list) at the back, as the least recent.
    mutating func pushBack(_ key: String) {
        pushFront(key)
        guard let slot = index[key], slot != tail else { return }
        unlink(slot)
        previous[slot] = tail
        next[slot] = -1
        if tail >= 0 { next[tail] = slot }
        tail = slot
        if head < 0 { head = slot }
    }

    /// Removes `key`; whether it was there.
    @discardableResult
    mutating func remove(_ key: String) -> Bool {
        guard let slot = index.removeValue(forKey: key) else { return false }
        unlink(slot)
        free.append(slot)
        return true
    }

    /// Moves `key` (in the list) to the front.
    mutating func moveToFront(_ key: String) {
        guard let slot = index[key], slot != head else { return }
        unlink(slot)
        linkAtFront(slot)
    }

    /// Removes and returns the least recent key.
    @discardableResult
    mutating func popBack() -> String? {
        guard let key = back else { return nil }
        remove(key)
        return key
    }

    private mutating func linkAtFront(_ slot: Int) {
        next[slot] = head
        previous[slot] = -1
        if head >= 0 { previous[head] = slot }
        head = slot
        if tail < 0 { tail = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let before = previous[slot]
        let after = next[slot]
        if before >= 0 { next[before] = after } else { head = after }
        if after >= 0 { previous[after] = before } else { tail = before }
        previous[slot] = -1
        next[slot] = -1
    }
}
