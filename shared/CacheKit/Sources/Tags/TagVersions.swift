import Synchronization

/// This process's view of every tag it has met: the heart of O(1) tag invalidation.
///
/// Invalidating a tag raises its version in Redis (one `HINCRBY`) and records the deployment-wide invalidation
/// sequence number it happened at (``sequence``). An entry in L2 records the versions of its tags and is valid
/// only while they match. In this process each tag also has a local ``TagState/stamp``, renewed on every change
/// this process learns of; an L1 entry records the stamps of its tags and is valid only while they are unchanged.
/// Nothing is scanned or deleted: a tag carried by 100,000 entries is invalidated as fast as one carried by one.
///
/// The map is sharded by tag so readers do not contend; ``epoch`` (the last stamp handed out) rises on every
/// change, so an L1 entry checked at the current epoch need not be checked again.
public final class TagVersions: Sendable {
    /// What this process knows of one tag.
    public struct TagState: Sendable, Equatable {
        /// The tag's version in Redis (or, for ``isOffline`` states, raised here while Redis was unreachable).
        public var version: UInt64
        /// The deployment-wide invalidation sequence number of the tag's last invalidation (0: never); `nil` for a
        /// state made up here while Redis was unreachable, which no shared entry may be validated against.
        public var sequence: UInt64?
        /// Local: renewed whenever this process learns of a change.
        public var stamp: UInt64

        public var isOffline: Bool { sequence == nil }
    }

    private final class Shard: Sendable {
        let states = Mutex<[String: TagState]>([:])
    }

    private let shards: [Shard]
    private let stamps = Atomic<UInt64>(1)
    private let clears = Atomic<UInt64>(0)
    private let count = Atomic<Int>(0)
    /// Past this many tags, the map is cleared (every L1 entry carrying a tag then fails its check once).
    public let limit: Int

    public init(shards: Int = 32, limit: Int = 1_000_000) {
        self.shards = (0..<max(1, shards)).map { _ in Shard() }
        self.limit = limit
    }

    private func shard(_ tag: String) -> Shard {
        shards[Int(UInt(bitPattern: tag.hashValue) % UInt(shards.count))]
    }

    private func nextStamp() -> UInt64 { stamps.add(1, ordering: .acquiringAndReleasing).newValue }

    /// The last stamp handed out: it rises on every change.
    public var epoch: UInt64 { stamps.load(ordering: .acquiring) }

    /// How many times the map was cleared; a merge of versions fetched before a clear is dropped.
    public var clearCount: UInt64 { clears.load(ordering: .acquiring) }

    public func state(of tag: String) -> TagState? {
        shard(tag).states.withLock { $0[tag] }
    }

    /// Learns `tag`'s version and sequence from Redis (a fetch or a backplane message), keeping the newer of it
    /// and what is known; a state made up offline is always replaced. `onlyIfKnown` skips tags this process never
    /// met (nothing here can depend on them). `fetchedAfterClear` drops a fetch that started before a clear.
    public func merge(
        _ tag: String,
        version: UInt64,
        sequence: UInt64,
        onlyIfKnown: Bool = false,
        fetchedAfterClear clear: UInt64? = nil
    ) {
        let inserted = shard(tag).states.withLock { states -> Bool in
            // Checked under the shard's lock: a clear counts first, then empties the shards one by one, so a fetch
            // from before it either lands before its shard is emptied or is dropped here.
            if let clear, clear != clearCount { return false }
            if let known = states[tag] {
                guard known.isOffline || version > known.version else { return false }
                states[tag] = TagState(version: version, sequence: sequence, stamp: nextStamp())
                return false
            }
            guard !onlyIfKnown else { return false }
            states[tag] = TagState(version: version, sequence: sequence, stamp: nextStamp())
            return true
        }
        if inserted, count.add(1, ordering: .relaxed).newValue > limit { removeAll() }
    }

    /// Raises `tag` locally while Redis cannot be reached. The state is offline: nothing validated against shared
    /// versions accepts it until the invalidation reaches Redis and the real version is learnt.
    public func bumpOffline(_ tag: String) {
        shard(tag).states.withLock { states in
            let version = (states[tag]?.version ?? 0) + 1
            states[tag] = TagState(version: version, sequence: nil, stamp: nextStamp())
        }
    }

    /// Tags among `tags` to ask Redis about: unknown ones, and offline ones (made up while Redis was unreachable)
    /// that `isPending` does not hold back.
    public func toFetch(_ tags: [String], isPending: (String) -> Bool) -> [String] {
        tags.filter { tag in
            guard let state = state(of: tag) else { return !isPending(tag) }
            return state.isOffline && !isPending(tag)
        }
    }

    /// Makes up a state for a tag met while Redis cannot be reached (an offline state, as ``bumpOffline(_:)``).
    public func learnOffline(_ tag: String) {
        shard(tag).states.withLock { states in
            if states[tag] == nil { states[tag] = TagState(version: 0, sequence: nil, stamp: nextStamp()) }
        }
    }

    /// Forgets every tag (after a backplane outage, when changes may have been missed); they are learnt again
    /// from Redis on demand.
    public func removeAll() {
        clears.add(1, ordering: .acquiringAndReleasing)
        for shard in shards { shard.states.withLock { $0.removeAll() } }
        count.store(0, ordering: .relaxed)
        _ = nextStamp()
    }

    /// The states of `tags`, in order; `nil` if one is unknown.
    public func states(of tags: [String]) -> [TagState]? {
        var states: [TagState] = []
        states.reserveCapacity(tags.count)
        for tag in tags {
            guard let state = state(of: tag) else { return nil }
            states.append(state)
        }
        return states
    }

    /// Whether an L2 entry's recorded versions of `tags` are all current, against shared (not offline) states.
    public func matches(tags: [String], versions: [UInt64]) -> Bool {
        guard tags.count == versions.count else { return false }
        for (tag, version) in zip(tags, versions) {
            guard let state = state(of: tag), !state.isOffline, state.version == version else { return false }
        }
        return true
    }

    /// Whether an L1 entry's recorded stamps of `tags` are all unchanged.
    public func matches(tags: [String], stamps: [UInt64]) -> Bool {
        guard tags.count == stamps.count else { return false }
        for (tag, stamp) in zip(tags, stamps) where state(of: tag)?.stamp != stamp {
            return false
        }
        return true
    }
}
