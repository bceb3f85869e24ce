import Synchronization

/// This process's view of every tag's version, the heart of O(1) tag invalidation.
///
/// Invalidating a tag increments its version (in Redis for every process, here for this one); an entry records the
/// versions of its tags when it is written and is valid only while they all still match. Nothing is scanned or
/// deleted, so a tag carried by 100,000 entries is invalidated as fast as one carried by one.
///
/// The map is sharded by tag, so readers checking tags do not contend. ``epoch`` rises on every change; an entry
/// that was checked at the current epoch need not be checked again, which keeps the tag lookups off the hit path
/// between invalidations. Versions only grow (``merge(_:version:)`` keeps the larger), so a late reply from Redis
/// cannot undo an invalidation that arrived over the backplane first.
public final class TagVersions: Sendable {
    private final class Shard: Sendable {
        let versions = Mutex<[String: UInt64]>([:])
    }

    private let shards: [Shard]
    private let currentEpoch = Atomic<UInt64>(1)

    public init(shards: Int = 32) {
        self.shards = (0..<max(1, shards)).map { _ in Shard() }
    }

    private func shard(_ tag: String) -> Shard {
        shards[Int(UInt(bitPattern: tag.hashValue) % UInt(shards.count))]
    }

    /// Rises whenever any version changes or the map is cleared.
    public var epoch: UInt64 { currentEpoch.load(ordering: .acquiring) }

    /// The version this process knows for `tag`, `nil` when it has not learnt it yet.
    public func version(of tag: String) -> UInt64? {
        shard(tag).versions.withLock { $0[tag] }
    }

    /// Learns `version` for `tag`, keeping the larger of it and what was known.
    public func merge(_ tag: String, version: UInt64) {
        let changed = shard(tag).versions.withLock { versions -> Bool in
            let known = versions[tag]
            guard known.map({ version > $0 }) ?? true else { return false }
            versions[tag] = version
            return known != nil
        }
        // Learning a first version changes no entry's validity; replacing one does.
        if changed { currentEpoch.add(1, ordering: .releasing) }
    }

    /// Raises `tag` one version locally (for when Redis cannot be reached) and returns the new version.
    @discardableResult
    public func bump(_ tag: String) -> UInt64 {
        let version = shard(tag).versions.withLock { versions -> UInt64 in
            let next = (versions[tag] ?? 0) + 1
            versions[tag] = next
            return next
        }
        currentEpoch.add(1, ordering: .releasing)
        return version
    }

    /// Forgets every version (after a backplane outage, when messages may have been missed); they are learnt again
    /// from Redis on demand.
    public func removeAll() {
        for shard in shards { shard.versions.withLock { $0.removeAll() } }
        currentEpoch.add(1, ordering: .releasing)
    }

    /// Whether `recorded` (an entry's versions of `tags`, in order) still matches every known version. A tag whose
    /// version is unknown here fails the check: the caller must learn it first.
    public func matches(tags: [String], recorded: [UInt64]) -> Bool {
        guard tags.count == recorded.count else { return false }
        for (tag, version) in zip(tags, recorded) where self.version(of: tag) != version {
            return false
        }
        return true
    }

    /// The tags among `tags` whose versions this process does not know.
    public func unknown(_ tags: [String]) -> [String] {
        tags.filter { version(of: $0) == nil }
    }
}
