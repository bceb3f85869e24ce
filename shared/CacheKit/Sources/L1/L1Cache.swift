import Synchronization

/// The in-process tier: a bounded map from keys to values, split into independently locked shards, each evicting
/// by Window TinyLFU with a window sized by ghost hits (``L1Shard``).
///
/// A read takes only its shard's lock, for a lookup by the key's digest (``KeyDigest``, ``DigestIndex``), a move in
/// a list and a count in the frequency sketch, so readers on different keys run in parallel and no read waits for a
/// sweep: expired entries are dropped when a read or an eviction meets them, and
/// ``reclaimExpired(now:budgetPerShard:)`` frees the rest one short shard step at a time.
public final class L1Cache<Value: Sendable>: Sendable {
    private final class Shard: Sendable {
        let state: Mutex<L1Shard<Value>>
        init(_ shard: L1Shard<Value>) { state = Mutex(shard) }
    }

    public let configuration: L1Configuration
    private let shards: [Shard]
    private let mask: UInt64
    /// The shards in use: the configured number, halved until each holds at least
    /// ``L1Configuration/minimumShardEntries`` entries.
    public let shardCount: Int

    public init(configuration: L1Configuration = .init()) {
        self.configuration = configuration
        var count = configuration.shards
        while count > 1, configuration.maximumEntries / count < L1Configuration.minimumShardEntries { count /= 2 }
        let entries = max(1, configuration.maximumEntries / count)
        let bytes = max(1, configuration.maximumBytes / count)
        shards = (0..<count).map { index in
            Shard(L1Shard(maximumEntries: entries, maximumBytes: bytes, seed: UInt64(index)))
        }
        mask = UInt64(count - 1)
        shardCount = count
    }

    private func hashed(_ key: String) -> HashedKey { HashedKey(key, seed: configuration.shardSeed) }

    private func shard(for key: HashedKey) -> Shard {
        // Mix the hash so that shards stay even when hashes differ only in their low bits.
        var hash = UInt64(bitPattern: Int64(key.hash))
        hash ^= hash >> 29
        hash &*= 0xbf58_476d_1ce4_e5b9
        hash ^= hash >> 32
        return shards[Int(hash & mask)]
    }

    /// The value of `key` while it is retained; `inspect` (run under the shard's lock, so keep it short) may update
    /// the stored value and answers whether it is still valid; invalid entries are dropped.
    @_specialize(exported:true,where Value == CacheEntry)
    public func get(_ key: String, now: Double, inspect: @Sendable (inout Value) -> Bool = { _ in true }) -> Value? {
        let key = hashed(key)
        return shard(for: key).state.withLock { $0.read(key, now: now, inspect: inspect) }
    }

    /// What `body` takes from the value of `key` while it is retained, under the shard's lock (keep it short): it
    /// answers whether the value is still valid (invalid ones are dropped) and what to hand back. `touching: false`
    /// for the cache's own bookkeeping (a second look at an entry already read, a version check): the policy does
    /// not count it as a read.
    public func project<Result: Sendable>(
        _ key: String,
        now: Double,
        touching: Bool = true,
        _ body: (inout Value) -> (valid: Bool, result: Result?)
    ) -> Result? {
        let key = hashed(key)
        return shard(for: key).state.withLock { $0.project(key, now: now, touching: touching, body) }
    }

    /// Changes the live value of `key` in place when `body` (under the shard's lock) says so, and adds `extraCost` to
    /// its cost. Returns whether it did.
    @discardableResult
    public func attach(_ key: String, now: Double, extraCost: Int, _ body: (inout Value) -> Bool) -> Bool {
        let key = hashed(key)
        return shard(for: key).state.withLock { $0.attach(key, now: now, extraCost: extraCost, body) }
    }

    /// Stores `value` until `retainUntil` (seconds since 1970), costing `cost` bytes. Returns false when the value
    /// is too large for the cache, or when `shouldReplace` (given the live value already there, under the shard's
    /// lock) refuses: a writer holding an older version must not overwrite a newer one.
    @discardableResult
    public func set(
        _ key: String,
        _ value: Value,
        cost: Int,
        retainUntil: Double,
        now: Double,
        replacing shouldReplace: @Sendable (Value) -> Bool = { _ in true }
    ) -> Bool {
        let key = hashed(key)
        return shard(for: key).state.withLock {
            $0.write(key, value: value, cost: cost, retainUntil: retainUntil, now: now, replacing: shouldReplace)
        }
    }

    @discardableResult
    public func remove(_ key: String) -> Bool {
        let key = hashed(key)
        return shard(for: key).state.withLock { $0.remove(key) }
    }

    /// Removes every entry whose key satisfies `predicate` (a prefix invalidation); returns how many.
    @discardableResult
    public func removeAll(where predicate: @Sendable (String) -> Bool) -> Int {
        shards.reduce(0) { total, shard in total + shard.state.withLock { $0.removeAll(where: predicate) } }
    }

    public func removeAll() {
        for shard in shards { shard.state.withLock { $0.removeAll() } }
    }

    /// Frees entries past their retention, at most `budgetPerShard` examined per shard lock.
    @discardableResult
    public func reclaimExpired(now: Double, budgetPerShard: Int = 256) -> Int {
        shards.reduce(0) { total, shard in
            total + shard.state.withLock { $0.reclaimExpired(now: now, budget: budgetPerShard) }
        }
    }

    /// Entries, bytes, evictions and expirations now, summed over the shards.
    public var statistics: L1Statistics {
        var statistics = L1Statistics()
        for shard in shards {
            shard.state.withLock { state in
                statistics.entries += state.count
                statistics.bytes += state.bytes
                statistics.evictions += state.evictions
                statistics.expirations += state.expirations
                statistics.ghostHits += state.ghostHits
                statistics.windowEntries += state.windowQuota
            }
        }
        return statistics
    }
}

/// The size and churn of an ``L1Cache``.
public struct L1Statistics: Sendable, Equatable {
    public var entries = 0
    public var bytes = 0
    /// Entries dropped to make room.
    public var evictions = 0
    /// Entries dropped because their time was up.
    public var expirations = 0
    /// Misses of keys evicted recently enough to be remembered (a ghost of hashes as large as the cache): hits that
    /// doubling the cache would have added.
    public var ghostHits = 0
    /// The entries the window (the recency side of the policy) may hold now, as its ghosts sized it; the rest
    /// is the main space behind the frequency filter.
    public var windowEntries = 0

    public init() {}
}
