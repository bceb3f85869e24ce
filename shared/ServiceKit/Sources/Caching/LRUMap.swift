/// A map of at most `capacity` entries that forgets its least recently used entry to make room: lookups, inserts
/// and removals in O(1) (a dictionary of slots in a doubly linked list kept in an array).
public struct LRUMap<Key: Hashable, Value> {
    fileprivate struct Node {
        var key: Key
        var value: Value
        var newer: Int
        var older: Int
    }

    private var nodes: [Node] = []
    private var slots: [Key: Int] = [:]
    private var free: [Int] = []
    /// The most and the least recently used slots (-1 when empty).
    private var newest = -1
    private var oldest = -1
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity > 0, "an LRU map holds at least one entry")
        self.capacity = capacity
    }

    public var count: Int { slots.count }

    /// The value for `key`, which becomes the most recently used.
    public mutating func value(for key: Key) -> Value? {
        guard let slot = slots[key] else { return nil }
        touch(slot)
        return nodes[slot].value
    }

    /// The value for `key`, without changing the order.
    public func peek(_ key: Key) -> Value? {
        slots[key].map { nodes[$0].value }
    }

    /// Stores `value` for `key` as the most recently used; returns the key forgotten to make room, if any.
    @discardableResult
    public mutating func set(_ value: Value, for key: Key) -> Key? {
        if let slot = slots[key] {
            nodes[slot].value = value
            touch(slot)
            return nil
        }
        var evicted: Key?
        if slots.count >= capacity, oldest >= 0 {
            evicted = nodes[oldest].key
            remove(evicted!)
        }
        let node = Node(key: key, value: value, newer: -1, older: newest)
        let slot: Int
        if let reused = free.popLast() {
            nodes[reused] = node
            slot = reused
        } else {
            nodes.append(node)
            slot = nodes.count - 1
        }
        if newest >= 0 { nodes[newest].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
        slots[key] = slot
        return evicted
    }

    /// Forgets `key`; returns its value.
    @discardableResult
    public mutating func remove(_ key: Key) -> Value? {
        guard let slot = slots.removeValue(forKey: key) else { return nil }
        unlink(slot)
        free.append(slot)
        return nodes[slot].value
    }

    /// Forgets everything.
    public mutating func removeAll() {
        nodes.removeAll()
        slots.removeAll()
        free.removeAll()
        newest = -1
        oldest = -1
    }

    private mutating func touch(_ slot: Int) {
        guard slot != newest else { return }
        unlink(slot)
        nodes[slot].older = newest
        nodes[slot].newer = -1
        if newest >= 0 { nodes[newest].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let (newer, older) = (nodes[slot].newer, nodes[slot].older)
        if newer >= 0 { nodes[newer].older = older } else { newest = older }
        if older >= 0 { nodes[older].newer = newer } else { oldest = newer }
        nodes[slot].newer = -1
        nodes[slot].older = -1
    }
}

extension LRUMap: Sendable where Key: Sendable, Value: Sendable {}
extension LRUMap.Node: Sendable where Key: Sendable, Value: Sendable {}
