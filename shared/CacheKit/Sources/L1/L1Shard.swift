import DequeModule

/// One shard of an ``L1Cache``: S3-FIFO (Yang et al., SOSP 2023) over entries bounded by count and by bytes.
///
/// New keys enter a small FIFO `S`; when `S` is over its share, its oldest entry moves to the main FIFO `M` if it was
/// read since it came in, and is otherwise dropped, its key remembered in a ghost FIFO `G`. A key found in `G` goes
/// straight to `M`. `M` is a FIFO with reinsertion: an entry read since its last pass gets another round with its
/// frequency lowered, the others are evicted. One-hit wonders and scans therefore never reach `M`, which is what
/// makes S3-FIFO beat LRU on skewed and scan-polluted traces, while a hit only bumps a small counter (no list moves).
///
/// Removed entries leave tickets in the queues; a ticket whose stamp no longer matches its entry is skipped.
/// A key with its hash computed once: the shard is chosen from it and the shard's dictionary reuses it, so a
/// read hashes the key's bytes once instead of twice.
struct HashedKey: Hashable, Sendable {
    let key: String
    let hash: Int

    init(_ key: String) {
        self.key = key
        self.hash = key.hashValue
    }

    static func == (left: HashedKey, right: HashedKey) -> Bool { left.hash == right.hash && left.key == right.key }
    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
}

struct L1Shard<Value: Sendable>: Sendable {
    struct Slot {
        var value: Value
        var cost: Int
        /// After this time (seconds since 1970) the entry is unusable and may be reclaimed.
        var retainUntil: Double
        var frequency: UInt8
        var inMain: Bool
        var stamp: UInt64
    }

    struct Ticket {
        var key: HashedKey
        var stamp: UInt64
    }

    let maximumEntries: Int
    let maximumBytes: Int
    let smallShare: Double

    private(set) var slots: [HashedKey: Slot] = [:]
    private var small = Deque<Ticket>()
    private var main = Deque<Ticket>()
    /// Hashes of keys recently dropped from `S`, each with the stamp of its latest entry: a popped ghost entry
    /// whose stamp is outdated (the key came back and left again) does not erase the newer one.
    private var ghost = Deque<(hash: Int, stamp: UInt64)>()
    private var ghostStamps: [Int: UInt64] = [:]
    private var smallBytes = 0
    private var smallCount = 0
    private(set) var bytes = 0
    private var nextStamp: UInt64 = 0
    private(set) var evictions = 0
    private(set) var expirations = 0
    /// Inserts of keys still remembered by the ghost queue: misses a cache twice as large would have hit.
    private(set) var ghostHits = 0

    init(maximumEntries: Int, maximumBytes: Int, smallShare: Double) {
        self.maximumEntries = max(1, maximumEntries)
        self.maximumBytes = max(1, maximumBytes)
        self.smallShare = smallShare
    }

    var count: Int { slots.count }

    /// Reads a usable entry, counting the read for the eviction policy. `inspect` may change the stored value
    /// (e.g. remember that its tags were checked) and answers whether it is still valid; an invalid entry is removed.
    mutating func read(_ key: HashedKey, now: Double, inspect: (inout Value) -> Bool) -> Value? {
        guard let index = slots.index(forKey: key) else { return nil }
        if slots.values[index].retainUntil <= now {
            expirations += 1
            drop(at: index)
            return nil
        }
        guard inspect(&slots.values[index].value) else {
            drop(at: index)
            return nil
        }
        if slots.values[index].frequency < 3 { slots.values[index].frequency += 1 }
        return slots.values[index].value
    }

    /// ``read(_:now:inspect:)`` that hands back what `body` takes from the value, not a copy of it: `body` answers
    /// whether the value is still valid (an invalid one is dropped) and what to return.
    mutating func project<Result>(
        _ key: HashedKey,
        now: Double,
        _ body: (inout Value) -> (valid: Bool, result: Result?)
    )
        -> Result?
    {
        guard let index = slots.index(forKey: key) else { return nil }
        // One in-place access to the slot (reading a field through the values' getter copies the whole slot).
        var result: Result?
        var expired = false
        var valid = true
        func visit(_ slot: inout Slot) {
            guard slot.retainUntil > now else {
                expired = true
                return
            }
            (valid, result) = body(&slot.value)
            if valid, slot.frequency < 3 { slot.frequency += 1 }
        }
        visit(&slots.values[index])
        if expired { expirations += 1 }
        guard !expired, valid else {
            drop(at: index)
            return nil
        }
        return result
    }

    /// Changes the live value of `key` in place when `body` says so, adding `extraCost` to what it costs (what a
    /// reader attached to it); the next write evicts for it if the shard is then over its bytes.
    mutating func attach(_ key: HashedKey, now: Double, extraCost: Int, _ body: (inout Value) -> Bool) -> Bool {
        guard let index = slots.index(forKey: key) else { return false }
        var applied = false
        func visit(_ slot: inout Slot) {
            guard slot.retainUntil > now else { return }
            applied = body(&slot.value)
            if applied { slot.cost += extraCost }
        }
        visit(&slots.values[index])
        if applied { bytes += extraCost }
        return applied
    }

    /// Stores `value`, evicting as needed. Returns false when the value alone is larger than the shard allows, or
    /// when `shouldReplace` refuses to replace the live value already there.
    @discardableResult
    mutating func write(
        _ key: HashedKey,
        value: Value,
        cost: Int,
        retainUntil: Double,
        now: Double,
        replacing shouldReplace: (Value) -> Bool = { _ in true }
    ) -> Bool {
        if let existing = slots[key], existing.retainUntil > now, !shouldReplace(existing.value) { return false }
        guard cost <= maximumBytes / 2 else {
            remove(key)
            return false
        }
        if let index = slots.index(forKey: key) {
            let old = slots.values[index].cost
            slots.values[index].value = value
            slots.values[index].cost = cost
            slots.values[index].retainUntil = retainUntil
            bytes += cost - old
            if !slots.values[index].inMain { smallBytes += cost - old }
        } else {
            nextStamp &+= 1
            let hash = key.hash
            let toMain = ghostStamps.removeValue(forKey: hash) != nil
            if toMain { ghostHits += 1 }
            slots[key] = Slot(
                value: value,
                cost: cost,
                retainUntil: retainUntil,
                frequency: 0,
                inMain: toMain,
                stamp: nextStamp
            )
            let ticket = Ticket(key: key, stamp: nextStamp)
            if toMain {
                main.append(ticket)
            } else {
                small.append(ticket)
                smallBytes += cost
                smallCount += 1
            }
            bytes += cost
        }
        while slots.count > maximumEntries || bytes > maximumBytes {
            guard evictOne(now: now) else { break }
        }
        compactIfSparse()
        return true
    }

    @discardableResult
    mutating func remove(_ key: HashedKey) -> Bool {
        guard let index = slots.index(forKey: key) else { return false }
        drop(at: index)
        return true
    }

    /// Removes every entry whose key satisfies `predicate`; returns how many.
    mutating func removeAll(where predicate: (String) -> Bool) -> Int {
        let doomed = slots.keys.filter { predicate($0.key) }
        for key in doomed { remove(key) }
        return doomed.count
    }

    mutating func removeAll() {
        slots.removeAll()
        small.removeAll()
        main.removeAll()
        ghost.removeAll()
        ghostStamps.removeAll()
        smallBytes = 0
        smallCount = 0
        bytes = 0
    }

    /// Frees entries past their retention from the heads of the queues (where the oldest are), dropping dead
    /// tickets on the way, examining at most `budget` tickets: a bounded step, so a caller sweeping shard by shard
    /// never holds a lock for long. Expired entries further back go when an eviction or a read meets them.
    mutating func reclaimExpired(now: Double, budget: Int) -> Int {
        var reclaimed = 0
        var examined = 0
        for inMain in [false, true] {
            while examined < budget, let ticket = inMain ? main.first : small.first {
                examined += 1
                guard let slot = slots[ticket.key], slot.stamp == ticket.stamp, slot.inMain == inMain else {
                    if inMain { main.removeFirst() } else { small.removeFirst() }
                    continue
                }
                guard slot.retainUntil <= now else { break }
                if inMain { main.removeFirst() } else { small.removeFirst() }
                remove(ticket.key)
                expirations += 1
                reclaimed += 1
            }
        }
        return reclaimed
    }

    // MARK: Eviction

    private mutating func evictOne(now: Double) -> Bool {
        let smallLimitBytes = Int(Double(maximumBytes) * smallShare)
        let smallLimitCount = max(1, Int(Double(maximumEntries) * smallShare))
        if !small.isEmpty, smallBytes >= smallLimitBytes || smallCount >= smallLimitCount || main.isEmpty {
            if evictFromSmall(now: now) { return true }
        }
        if evictFromMain(now: now) { return true }
        return evictFromSmall(now: now)
    }

    /// Pops `S` until one entry leaves the cache (dropped to the ghost) or moves to `M`. Returns whether an entry
    /// left the cache.
    private mutating func evictFromSmall(now: Double) -> Bool {
        while let ticket = small.popFirst() {
            guard let index = slots.index(forKey: ticket.key), slots.values[index].stamp == ticket.stamp,
                !slots.values[index].inMain
            else { continue }
            let slot = slots.values[index]
            smallBytes -= slot.cost
            smallCount -= 1
            if slot.frequency > 0, slot.retainUntil > now {
                slots.values[index].inMain = true
                slots.values[index].frequency = 0
                main.append(ticket)
                continue
            }
            slots.remove(at: index)
            bytes -= slot.cost
            if slot.retainUntil > now {
                evictions += 1
                remember(ghost: ticket.key.hash)
            } else {
                expirations += 1
            }
            return true
        }
        return false
    }

    private mutating func evictFromMain(now: Double) -> Bool {
        while let ticket = main.popFirst() {
            guard let index = slots.index(forKey: ticket.key), slots.values[index].stamp == ticket.stamp,
                slots.values[index].inMain
            else { continue }
            let slot = slots.values[index]
            if slot.frequency > 0, slot.retainUntil > now {
                slots.values[index].frequency -= 1
                main.append(ticket)
                continue
            }
            slots.remove(at: index)
            bytes -= slot.cost
            if slot.retainUntil > now { evictions += 1 } else { expirations += 1 }
            return true
        }
        return false
    }

    private mutating func remember(ghost hash: Int) {
        nextStamp &+= 1
        ghostStamps[hash] = nextStamp
        ghost.append((hash, nextStamp))
        while ghost.count > maximumEntries, let oldest = ghost.popFirst() {
            if ghostStamps[oldest.hash] == oldest.stamp { ghostStamps.removeValue(forKey: oldest.hash) }
        }
    }

    private mutating func drop(at index: Dictionary<HashedKey, Slot>.Index) {
        let slot = slots.values[index]
        if !slot.inMain {
            smallBytes -= slot.cost
            smallCount -= 1
        }
        bytes -= slot.cost
        slots.remove(at: index)
    }

    /// Rebuilds the queues when removals left more dead tickets than live entries, so they stay O(entries).
    private mutating func compactIfSparse() {
        guard small.count + main.count > 2 * slots.count + 64 else { return }
        small = Deque(
            small.filter { ticket in slots[ticket.key].map { $0.stamp == ticket.stamp && !$0.inMain } ?? false }
        )
        main = Deque(main.filter { ticket in slots[ticket.key].map { $0.stamp == ticket.stamp && $0.inMain } ?? false })
    }
}
