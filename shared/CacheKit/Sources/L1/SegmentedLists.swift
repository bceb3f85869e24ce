/// The three LRU lists of an ``L1Shard`` (window, probation and protected) over numbered slots, threaded through one
/// array, with what each list holds in entries and bytes; freed slots are reused. Not generic, so the moves a hit
/// makes are compiled once, specialised, whatever the cache holds.
struct SegmentedLists: Sendable {
    enum Segment: Int {
        case window = 0
        case probation = 1
        case protected = 2
    }

    /// What the policy knows of an entry: its place in its list, its cost, its retention and its key's hash.
    struct Slot {
        var previous: Int32 = -1
        var next: Int32 = -1
        var segment = Segment.window
        var cost = 0
        /// After this time (seconds since 1970) the entry is unusable and may be reclaimed.
        var retainUntil = 0.0
        var hash = 0
        var live = false
        /// The value of `fronts` when the slot last went to the front of its list.
        var frontedAt: UInt64 = 0
    }

    /// One list, its front the most recently used.
    struct Queue {
        var head: Int32 = -1
        var tail: Int32 = -1
        var count = 0
        var bytes = 0
    }

    private(set) var slots: [Slot] = []
    private var free: [Int32] = []
    private var queues = [Queue(), Queue(), Queue()]
    /// Slots put at the front of a list so far: how far a slot has sunk since it was put there is bounded by the
    /// count since.
    private var fronts: UInt64 = 0

    /// Slots ever allocated (live or free).
    var capacity: Int { slots.count }

    func count(_ segment: Segment) -> Int { queues[segment.rawValue].count }
    func bytes(_ segment: Segment) -> Int { queues[segment.rawValue].bytes }
    /// The least recently used slot of `segment`, if any.
    func tail(_ segment: Segment) -> Int32? {
        let tail = queues[segment.rawValue].tail
        return tail >= 0 ? tail : nil
    }

    subscript(slot: Int32) -> Slot { slots[Int(slot)] }

    /// A live slot for an entry, not yet in a list.
    mutating func allocate(cost: Int, retainUntil: Double, hash: Int) -> Int32 {
        let slot = Slot(cost: cost, retainUntil: retainUntil, hash: hash, live: true)
        if let reused = free.popLast() {
            slots[Int(reused)] = slot
            return reused
        }
        slots.append(slot)
        return Int32(slots.count - 1)
    }

    /// Frees a slot taken out of its list.
    mutating func deallocate(_ slot: Int32) {
        slots[Int(slot)].live = false
        free.append(slot)
    }

    /// Changes a linked slot's cost, and its list's bytes with it.
    mutating func setCost(_ slot: Int32, _ cost: Int) {
        queues[slots[Int(slot)].segment.rawValue].bytes += cost - slots[Int(slot)].cost
        slots[Int(slot)].cost = cost
    }

    mutating func setRetainUntil(_ slot: Int32, _ time: Double) { slots[Int(slot)].retainUntil = time }

    mutating func link(_ slot: Int32, atFrontOf segment: Segment) { link(slot, into: segment, atFront: true) }

    mutating func link(_ slot: Int32, atBackOf segment: Segment) { link(slot, into: segment, atFront: false) }

    private mutating func link(_ slot: Int32, into segment: Segment, atFront: Bool) {
        let list = segment.rawValue
        let neighbour = atFront ? queues[list].head : queues[list].tail
        // A slot put at the back counts as long sunk: its next hit moves it.
        if atFront { fronts &+= 1 }
        slots[Int(slot)].frontedAt = atFront ? fronts : 0
        slots[Int(slot)].segment = segment
        slots[Int(slot)].previous = atFront ? -1 : neighbour
        slots[Int(slot)].next = atFront ? neighbour : -1
        switch (neighbour >= 0, atFront) {
        case (true, true): slots[Int(neighbour)].previous = slot
        case (true, false): slots[Int(neighbour)].next = slot
        case (false, true): queues[list].tail = slot
        case (false, false): queues[list].head = slot
        }
        if atFront { queues[list].head = slot } else { queues[list].tail = slot }
        queues[list].count += 1
        queues[list].bytes += slots[Int(slot)].cost
    }

    mutating func unlink(_ slot: Int32) {
        let previous = slots[Int(slot)].previous
        let next = slots[Int(slot)].next
        let segment = slots[Int(slot)].segment.rawValue
        if previous >= 0 { slots[Int(previous)].next = next } else { queues[segment].head = next }
        if next >= 0 { slots[Int(next)].previous = previous } else { queues[segment].tail = previous }
        slots[Int(slot)].previous = -1
        slots[Int(slot)].next = -1
        queues[segment].count -= 1
        queues[segment].bytes -= slots[Int(slot)].cost
    }

    /// Moves a slot to the front of its list, unless it is still among the most recent quarter of it: a hot entry,
    /// read again and again, then costs no list writes (the lists' order is kept to within a quarter of their length,
    /// which eviction from the far end never notices).
    mutating func moveToFront(_ slot: Int32) {
        let segment = slots[Int(slot)].segment
        guard fronts &- slots[Int(slot)].frontedAt >= UInt64(queues[segment.rawValue].count / 4) else { return }
        unlink(slot)
        link(slot, atFrontOf: segment)
    }

    mutating func removeAll() {
        slots.removeAll()
        free.removeAll()
        queues = [Queue(), Queue(), Queue()]
    }
}
