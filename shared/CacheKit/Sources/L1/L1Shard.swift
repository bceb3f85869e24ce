/// A key with its digest computed once (``KeyDigest``): the shard is chosen from it, the shard's index and frequency
/// sketch reuse it, so a read hashes the key's bytes once and never compares them.
struct HashedKey: Sendable {
    let key: String
    /// The first half of the digest: the shard, the index's bucket, the sketch's counters, the ghosts.
    let hash: Int
    /// The second half: with ``hash``, the key's identity in the index.
    let check: UInt64

    /// Digests with this process's secret, or with `seed` where runs must repeat (the simulator, whose shard and
    /// sketch choices stay those of ``KeyHash``).
    init(_ key: String, seed: UInt64? = nil) {
        self.key = key
        if let seed {
            hash = Int(bitPattern: UInt(KeyHash.hash(key, seed: seed)))
            check = KeyDigest(key, secret: .seeded(seed)).second
        } else {
            let digest = KeyDigest(key)
            hash = Int(bitPattern: UInt(digest.first))
            check = digest.second
        }
    }

    var unsignedHash: UInt64 { UInt64(bitPattern: Int64(hash)) }
}

/// One shard of an ``L1Cache``: Window TinyLFU (Einziger, Friedman and Manes, 2017) whose window is sized by ghost
/// hits, over entries bounded by count and by bytes.
///
/// New keys enter a window LRU. A key pushed out of the window is a candidate for the main space, a segmented LRU
/// (probation, then protected once read again, 80% of the main space): it is admitted only if the frequency sketch
/// has seen it more often than the main space's victim, so one-offs and scans never displace what is read often.
///
/// The window's share adapts as ARC's does, from two small ghosts of a fifth of the shard each: candidates the filter
/// refused and entries evicted from the main space. A refused candidate that comes back while its ghost remembers it
/// would have been a hit in a window larger by that much, and grows the window by one entry; an evicted main entry
/// that comes back shrinks it by one. A moving working set thus gets a large window within a phase (towards LRU),
/// a frequency-biased workload keeps a small one behind the filter. Growth is paid for by the window's own hits (one
/// entry per hit in the window): a loop just over the capacity sends every refused key back soon, yet a larger
/// window would hold none of them, and without that price would grow into an LRU that hits nothing.
///
/// A hit moves the entry in its list and counts it in the sketch, all in O(1) under the shard's lock.
struct L1Shard<Value: Sendable>: Sendable {
    typealias Segment = SegmentedLists.Segment

    let maximumEntries: Int
    let maximumBytes: Int

    private var index = DigestIndex()
    private var lists = SegmentedLists()
    /// The key and the value of each slot of `lists` (nil when free): the generic part, touched once a read.
    private var keys: [HashedKey?] = []
    private var values: [Value?] = []
    private var sketch: FrequencySketch
    /// Breaks ties for warm candidates now and then (Caffeine's defence against a victim no key can beat).
    private var random: SplitMix

    /// The window's quota; its bytes are the same share of the shard's bytes.
    private var windowEntries = 0
    private var windowBytes = 1
    /// Hits in the window not yet spent on growing it.
    private var windowCredit = 0

    /// Keys recently evicted, as many as the shard holds.
    private var ghost: RecentHashes
    /// Candidates recently refused by admission, and entries recently evicted from the main space: a return of one
    /// of the first is a hit a larger window would have had, of the second one a larger main space would have had.
    private var windowGhost: RecentHashes
    private var mainGhost: RecentHashes
    private var sweepCursor = 0

    private(set) var bytes = 0
    private(set) var evictions = 0
    private(set) var expirations = 0
    /// Inserts of keys evicted recently enough to be remembered (as many as the shard holds): misses a cache twice
    /// as large would have hit.
    private(set) var ghostHits = 0

    /// The share of the shard the window starts with (Caffeine's).
    static var initialWindowShare: Double { 0.01 }
    /// How far back the steering ghosts remember, as a share of the shard.
    static var ghostReach: Double { 0.2 }

    /// A shard of `maximumEntries` and `maximumBytes`; `seed` seeds its tie-breaking.
    init(maximumEntries: Int, maximumBytes: Int, seed: UInt64 = 0) {
        self.maximumEntries = max(1, maximumEntries)
        self.maximumBytes = max(1, maximumBytes)
        sketch = FrequencySketch(capacity: self.maximumEntries)
        random = SplitMix(seed: seed)
        ghost = RecentHashes(capacity: self.maximumEntries)
        let reach = Int(Self.ghostReach * Double(self.maximumEntries))
        windowGhost = RecentHashes(capacity: reach)
        mainGhost = RecentHashes(capacity: reach)
        resizeWindow(entries: Int((Self.initialWindowShare * Double(self.maximumEntries)).rounded()))
    }

    var count: Int { index.count }

    /// The entries the window may hold now.
    var windowQuota: Int { windowEntries }

    private var mainEntries: Int { maximumEntries - windowEntries }
    private var mainBytes: Int { maximumBytes - windowBytes }
    private var mainCount: Int { lists.count(.probation) + lists.count(.protected) }
    private var mainCost: Int { lists.bytes(.probation) + lists.bytes(.protected) }

    // MARK: Reads

    /// Reads a usable entry, counting the read for the eviction policy. `inspect` may change the stored value
    /// (e.g. remember that its tags were checked) and answers whether it is still valid; an invalid entry is removed.
    mutating func read(_ key: HashedKey, now: Double, inspect: (inout Value) -> Bool) -> Value? {
        project(key, now: now) { value in
            let valid = inspect(&value)
            return (valid, valid ? value : nil)
        }
    }

    /// ``read(_:now:inspect:)`` that hands back what `body` takes from the value, not a copy of it: `body` answers
    /// whether the value is still valid (an invalid one is dropped) and what to return. Without `touching`, the
    /// policy does not count the look as a read.
    mutating func project<Result>(
        _ key: HashedKey,
        now: Double,
        touching: Bool = true,
        _ body: (inout Value) -> (valid: Bool, result: Result?)
    ) -> Result? {
        guard let slot = index.slot(of: key) else { return nil }
        guard lists[slot].retainUntil > now else {
            expirations += 1
            drop(slot)
            return nil
        }
        let (valid, result) = body(&values[Int(slot)]!)
        guard valid else {
            drop(slot)
            return nil
        }
        if touching { touch(slot) }
        return result
    }

    /// Changes the live value of `key` in place when `body` says so, adding `extraCost` to what it costs (what a
    /// reader attached to it); the next write evicts for it if the shard is then over its bytes.
    mutating func attach(_ key: HashedKey, now: Double, extraCost: Int, _ body: (inout Value) -> Bool) -> Bool {
        guard let slot = index.slot(of: key), lists[slot].retainUntil > now, body(&values[Int(slot)]!) else {
            return false
        }
        lists.setCost(slot, lists[slot].cost + extraCost)
        bytes += extraCost
        return true
    }

    // MARK: Writes

    /// Stores `value`, evicting as needed. Returns false when the value alone is larger than the shard allows, when
    /// `shouldReplace` refuses to replace the live value already there, or when the policy gave it up at once.
    @discardableResult
    mutating func write(
        _ key: HashedKey,
        value: Value,
        cost: Int,
        retainUntil: Double,
        now: Double,
        replacing shouldReplace: (Value) -> Bool = { _ in true }
    ) -> Bool {
        if let slot = index.slot(of: key), lists[slot].retainUntil > now, !shouldReplace(values[Int(slot)]!) {
            return false
        }
        guard cost <= maximumBytes / 2 else {
            remove(key)
            return false
        }
        if let slot = index.slot(of: key) {
            bytes += cost - lists[slot].cost
            lists.setCost(slot, cost)
            lists.setRetainUntil(slot, retainUntil)
            values[Int(slot)] = value
            touch(slot)
        } else {
            insert(key, value: value, cost: cost, retainUntil: retainUntil)
        }
        evictFromWindow(now: now)
        // The main space may still be over after a large value or an attachment: evict least recent entries.
        while index.count > maximumEntries || bytes > maximumBytes {
            guard let victim = lists.tail(.probation) ?? lists.tail(.window) ?? lists.tail(.protected) else { break }
            evict(victim, now: now)
        }
        // Whether the value is still there: admission may have refused it at once.
        return index.slot(of: key) != nil
    }

    @discardableResult
    mutating func remove(_ key: HashedKey) -> Bool {
        guard let slot = index.slot(of: key) else { return false }
        drop(slot)
        return true
    }

    /// Removes every entry whose key satisfies `predicate`; returns how many.
    mutating func removeAll(where predicate: (String) -> Bool) -> Int {
        let doomed = keys.compactMap { key in key.flatMap { predicate($0.key) ? $0 : nil } }
        for key in doomed { remove(key) }
        return doomed.count
    }

    mutating func removeAll() {
        index.removeAll()
        lists.removeAll()
        keys.removeAll()
        values.removeAll()
        ghost.removeAll()
        windowGhost.removeAll()
        mainGhost.removeAll()
        bytes = 0
        sweepCursor = 0
        windowCredit = 0
        resizeWindow(entries: Int((Self.initialWindowShare * Double(maximumEntries)).rounded()))
    }

    /// Frees entries past their retention, examining at most `budget` slots from where the last call stopped: a
    /// bounded step, so a caller sweeping shard by shard never holds a lock for long, and the whole shard is covered
    /// in turn. Expired entries are also dropped when a read or an eviction meets them.
    mutating func reclaimExpired(now: Double, budget: Int) -> Int {
        var reclaimed = 0
        for _ in 0..<max(0, min(budget, lists.capacity)) {
            if sweepCursor >= lists.capacity { sweepCursor = 0 }
            let slot = Int32(sweepCursor)
            sweepCursor += 1
            guard lists[slot].live, lists[slot].retainUntil <= now else { continue }
            drop(slot)
            expirations += 1
            reclaimed += 1
        }
        return reclaimed
    }

    // MARK: The policy

    /// A new key: counted in the sketch, steering the window if a ghost remembers it, and put at the window's front.
    private mutating func insert(_ key: HashedKey, value: Value, cost: Int, retainUntil: Double) {
        sketch.record(UInt64(bitPattern: Int64(key.hash)))
        if ghost.remove(key.hash) { ghostHits += 1 }
        if windowGhost.remove(key.hash) {
            if windowCredit > 0 {
                windowCredit -= 1
                resizeWindow(entries: windowEntries + 1)
            }
        } else if mainGhost.remove(key.hash) {
            resizeWindow(entries: windowEntries - 1)
        }
        let slot = lists.allocate(cost: cost, retainUntil: retainUntil, hash: key.hash)
        if Int(slot) == keys.count {
            keys.append(key)
            values.append(value)
        } else {
            keys[Int(slot)] = key
            values[Int(slot)] = value
        }
        index.insert(key, slot: slot)
        lists.link(slot, atFrontOf: .window)
        bytes += cost
    }

    /// A hit: counted in the sketch, and moved to the front of its list; a probation entry is promoted to protected,
    /// whose least recent entries go back to probation when it is over its share of the main space.
    private mutating func touch(_ slot: Int32) {
        sketch.record(UInt64(bitPattern: Int64(lists[slot].hash)))
        switch lists[slot].segment {
        case .window:
            if windowCredit < maximumEntries { windowCredit += 1 }
            lists.moveToFront(slot)
        case .protected:
            lists.moveToFront(slot)
        case .probation:
            lists.unlink(slot)
            lists.link(slot, atFrontOf: .protected)
            demoteProtectedOverflow()
        }
    }

    private mutating func demoteProtectedOverflow() {
        let entries = mainEntries * 4 / 5
        let bytes = mainBytes / 5 * 4
        while lists.count(.protected) > entries || lists.bytes(.protected) > bytes,
            let demoted = lists.tail(.protected)
        {
            lists.unlink(demoted)
            lists.link(demoted, atFrontOf: .probation)
        }
    }

    /// Sends the window's least recent entries beyond its quota to admission. The newest entry stays even when it
    /// alone is over the window's bytes: a value larger than the window still gets its time there, to be read
    /// before it faces admission.
    private mutating func evictFromWindow(now: Double) {
        while lists.count(.window) > windowEntries || (lists.bytes(.window) > windowBytes && lists.count(.window) > 1),
            let candidate = lists.tail(.window)
        {
            lists.unlink(candidate)
            admit(candidate, now: now)
        }
    }

    /// Into probation while the main space has room; else in place of its victims (probation's least recent, then
    /// protected's) only if the sketch has seen it more often than each, or it is evicted.
    private mutating func admit(_ candidate: Int32, now: Double) {
        let cost = lists[candidate].cost
        // Too large for the main space: no window size would have kept it there, so its return steers nothing.
        guard lists[candidate].retainUntil > now, cost <= mainBytes else {
            release(candidate, now: now)
            return
        }
        while mainCount + 1 > mainEntries || mainCost + cost > mainBytes {
            guard let victim = lists.tail(.probation) ?? lists.tail(.protected) else { break }
            if lists[victim].retainUntil <= now {
                evict(victim, now: now)
            } else if admits(candidate, over: victim) {
                mainGhost.add(lists[victim].hash)
                evict(victim, now: now)
            } else {
                windowGhost.add(lists[candidate].hash)
                release(candidate, now: now)
                return
            }
        }
        lists.link(candidate, atFrontOf: .probation)
    }

    /// TinyLFU's test: the candidate was seen more often than the victim; or, one time in 128, a candidate seen at
    /// least six times, so that an attacker's hash collision cannot pin a victim forever.
    private mutating func admits(_ candidate: Int32, over victim: Int32) -> Bool {
        let candidateFrequency = sketch.frequency(UInt64(bitPattern: Int64(lists[candidate].hash)))
        let victimFrequency = sketch.frequency(UInt64(bitPattern: Int64(lists[victim].hash)))
        if candidateFrequency > victimFrequency { return true }
        return candidateFrequency >= 6 && random.next() & 127 == 0
    }

    /// Gives the window `entries` (at least one, at most the shard) and the same share of the bytes. A larger window
    /// takes the main space's least recent entries (kept, at the window's back); a smaller one sends its least recent
    /// to admission at the next write.
    private mutating func resizeWindow(entries: Int) {
        let entries = min(maximumEntries, max(1, entries))
        guard entries != windowEntries else { return }
        windowEntries = entries
        windowBytes = max(1, Int(Double(maximumBytes) * Double(entries) / Double(maximumEntries)))
        while mainCount > mainEntries || mainCost > mainBytes,
            let moved = lists.tail(.probation) ?? lists.tail(.protected)
        {
            lists.unlink(moved)
            lists.link(moved, atBackOf: .window)
        }
        demoteProtectedOverflow()
    }

    /// Evicts a linked entry.
    private mutating func evict(_ slot: Int32, now: Double) {
        lists.unlink(slot)
        release(slot, now: now)
    }

    /// Frees an unlinked entry pushed out by the policy, remembering its key in the ghost when it was still live.
    private mutating func release(_ slot: Int32, now: Double) {
        if lists[slot].retainUntil > now {
            evictions += 1
            ghost.add(lists[slot].hash)
        } else {
            expirations += 1
        }
        free(slot)
    }

    /// Removes a linked entry that was invalidated, expired or replaced by a removal (not an eviction).
    private mutating func drop(_ slot: Int32) {
        lists.unlink(slot)
        free(slot)
    }

    private mutating func free(_ slot: Int32) {
        bytes -= lists[slot].cost
        if let key = keys[Int(slot)] { index.remove(key) }
        keys[Int(slot)] = nil
        values[Int(slot)] = nil
        lists.deallocate(slot)
    }
}
