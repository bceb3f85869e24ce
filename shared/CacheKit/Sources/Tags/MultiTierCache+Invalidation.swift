import Foundation
import Logging
import Synchronization
import WedSyncModels

/// An invalidation applied in this process that Redis and the other processes have not heard of yet.
struct PendingInvalidation: Sendable {
    var id: UInt64
    var addresses: [String]
    var tags: [String]
    var prefixes: [String]

    /// Whether it covers `address` (L2 may still hold it: it must not be read from there or stored again).
    func covers(_ address: String) -> Bool {
        addresses.contains(address) || prefixes.contains { address.hasPrefix($0) }
    }
}

/// The invalidations waiting for Redis.
struct PendingInvalidations {
    var items: [PendingInvalidation] = []
    var nextID: UInt64 = 0
    var dropped = 0
    /// How many waiting invalidations name each tag: until they reach Redis, such a tag stays offline here.
    var tagCounts: [String: Int] = [:]

    mutating func append(_ invalidation: PendingInvalidation) {
        items.append(invalidation)
        for tag in invalidation.tags { tagCounts[tag, default: 0] += 1 }
    }

    mutating func remove(where shouldRemove: (PendingInvalidation) -> Bool) {
        for invalidation in items where shouldRemove(invalidation) {
            for tag in invalidation.tags {
                tagCounts[tag, default: 1] -= 1
                if tagCounts[tag] == 0 { tagCounts.removeValue(forKey: tag) }
            }
        }
        items.removeAll(where: shouldRemove)
    }
}

extension MultiTierCache {
    /// The most invalidations kept for replay while Redis is down; beyond it the oldest are dropped (and counted):
    /// every other process clears its L1 when its backplane returns anyway, so only L2 copies could outlive them.
    static let pendingLimit = 10_000

    /// Drops entries by address, by tag and by address prefix, in every tier and (over the backplane) in every
    /// process. When it returns, no read in this process sees a dropped entry; other processes drop theirs as soon
    /// as the message arrives. Without Redis it is applied here at once and replayed when Redis returns.
    @discardableResult
    public func invalidate(_ request: InvalidationRequest) async -> InvalidationResult {
        let now = self.now
        var versions: L2Versions?
        if let l2, isL2Usable(now: now) {
            do {
                versions = try await applyToL2(
                    addresses: request.keys,
                    tags: request.tags,
                    prefixes: request.prefixes,
                    l2: l2
                )
                markL2Healthy()
            } catch {
                markL2Failed(error)
            }
        }
        var propagated = l2 == nil
        if let versions {
            apply(keys: versions.keys, tags: versions.tags, prefixes: versions.prefixes, remote: false)
            do {
                let message = BackplaneMessage(
                    origin: origin,
                    keys: versions.keys,
                    tags: versions.tags,
                    prefixes: versions.prefixes
                )
                try await l2?.publish(message.encoded())
                propagated = true
            } catch {
                markL2Failed(error)
                // L2 has it; the other processes will hear of it when the replay applies and publishes it again.
                remember(addresses: request.keys, tags: request.tags, prefixes: request.prefixes)
            }
        } else if l2 != nil {
            // Remembered first: from now until the replay, reads of these addresses skip L2 (which still holds them).
            remember(addresses: request.keys, tags: request.tags, prefixes: request.prefixes)
            applyOffline(addresses: request.keys, tags: request.tags, prefixes: request.prefixes)
        } else {
            applyOffline(addresses: request.keys, tags: request.tags, prefixes: request.prefixes)
        }
        return InvalidationResult(
            invalidatedKeys: request.keys.count,
            invalidatedTags: request.tags.count,
            invalidatedPrefixes: request.prefixes.count,
            propagated: propagated,
            at: Date(timeIntervalSince1970: now)
        )
    }

    /// Drops `address` everywhere (an invalidation by key).
    public func remove(_ address: CacheAddress) async {
        await invalidate(InvalidationRequest(keys: [address.string]))
    }

    /// The new versions of the keys and tags an invalidation changed in L2, and its prefixes' sequence numbers.
    struct L2Versions {
        var keys: [String: UInt64]
        var tags: [String: TagVersion]
        var prefixes: [PrefixInvalidation]
    }

    /// The L2 side: delete the addresses (raising their key versions), raise the tags' versions, and record each
    /// prefix invalidation. From the record on, no process reads an entry the prefix covers that was read before it
    /// (``SharedPrefixLog``); deleting those entries from L2 is left to a background sweep (``sweep(prefix:in:)``),
    /// so a request never waits on a `SCAN` of the keyspace.
    func applyToL2(addresses: [String], tags: [String], prefixes: [String], l2: RedisL2Store) async throws
        -> L2Versions
    {
        let keys = try await l2.invalidate(addresses: addresses)
        let tagVersions = try await l2.bump(tags: tags)
        var recorded: [PrefixInvalidation] = []
        for prefix in prefixes {
            recorded.append(
                PrefixInvalidation(prefix: prefix, sequence: try await l2.recordPrefixInvalidation(prefix, now: now))
            )
        }
        for prefix in prefixes {
            backgroundContinuation.yield(BackgroundJob(address: nil) { await self.sweep(prefix: prefix, in: l2) })
        }
        return L2Versions(keys: keys, tags: tagVersions, prefixes: recorded)
    }

    /// Deletes L2's entries under an invalidated `prefix` (raising each one's version), in the background. They are
    /// unreadable already; a sweep that fails leaves them to expire. An entry written under the prefix a moment after
    /// the invalidation may be swept too: a miss, never a stale read.
    func sweep(prefix: String, in l2: RedisL2Store) async {
        do {
            sweptByPrefix.add(try await l2.invalidate(prefix: prefix), ordering: .relaxed)
        } catch {
            logger.warning(
                "cache prefix sweep failed: the covered entries stay unreadable until they expire",
                metadata: ["cache.error": "\(type(of: error))"]
            )
        }
    }

    /// The local side of a change L2 has made (here, or in another process when `remote`), under the coordination
    /// lock so that no commit that read before it lands after it: L1 copies of `keys` older than their new
    /// versions go and no older version may be stored again; `tags` move on (from another process, only tags this
    /// process is itself still waiting to send, which only the replay may settle); `prefixes` are dropped and logged.
    func apply(keys: [String: UInt64], tags: [String: TagVersion], prefixes: [PrefixInvalidation], remote: Bool) {
        let now = self.now
        if !prefixes.isEmpty { sharedPrefixes.withLock { log in for prefix in prefixes { log.add(prefix) } } }
        coordination.withLock { state in
            for (address, version) in keys {
                state.raiseFloor(of: address, to: version)
                let _: Bool? = l1.project(address, now: now, touching: false) { entry in
                    (entry.version >= version && entry.version & Self.localVersion == 0, nil)
                }
            }
            for (tag, version) in tags where !(remote && isPendingTag(tag)) {
                // Tags not yet met are recorded too: a fetch of one may be in flight, and must not win over this.
                tagVersions.merge(tag, version: version.version, sequence: version.sequence)
            }
            for invalidation in prefixes {
                let prefix = invalidation.prefix
                state.logPrefix(prefix)
                l1.removeAll { $0.hasPrefix(prefix) }
            }
        }
    }

    /// The local side of an invalidation Redis could not take (or, without L2, every invalidation): keys and
    /// prefixes dropped, and every load or promotion read before refused (there is no key version to compare);
    /// tags raised here as offline states (nothing validated against L2 accepts them until the replay).
    func applyOffline(addresses: [String], tags: [String], prefixes: [String]) {
        coordination.withLock { state in
            if !addresses.isEmpty { state.clearGeneration += 1 }
            for address in addresses { l1.remove(address) }
            for tag in tags { tagVersions.bumpOffline(tag) }
            for prefix in prefixes {
                state.logPrefix(prefix)
                l1.removeAll { $0.hasPrefix(prefix) }
            }
        }
    }

    func remember(addresses: [String], tags: [String], prefixes: [String]) {
        let dropped = pending.withLock { pending -> Int in
            pending.nextID += 1
            pending.append(
                PendingInvalidation(id: pending.nextID, addresses: addresses, tags: tags, prefixes: prefixes)
            )
            let excess = max(0, pending.items.count - Self.pendingLimit)
            if excess > 0 {
                let oldest = Set(pending.items.prefix(excess).map(\.id))
                pending.remove { oldest.contains($0.id) }
                pending.dropped += excess
            }
            return excess
        }
        pendingCount.store(pending.withLock { $0.items.count }, ordering: .releasing)
        if dropped > 0 {
            logger.error("cache dropped invalidations waiting for Redis", metadata: ["cache.dropped": "\(dropped)"])
        }
    }

    /// Whether an invalidation waiting for Redis names `tag`.
    func isPendingTag(_ tag: String) -> Bool {
        guard pendingCount.load(ordering: .acquiring) > 0 else { return false }
        return pending.withLock { $0.tagCounts[tag] != nil }
    }

    /// Whether an invalidation waiting for Redis covers `address`.
    func isPendingInvalidation(_ address: String) -> Bool {
        guard pendingCount.load(ordering: .acquiring) > 0 else { return false }
        return pending.withLock { $0.items.contains { $0.covers(address) } }
    }

    /// Sends the invalidations Redis missed, oldest first; each leaves the queue only once L2 and the other
    /// processes have it.
    /// One replay at a time: another caller finds it under way and leaves it to finish (what it misses, the next
    /// one-second retry sends).
    func replayPending() async {
        guard let l2 else { return }
        guard replaying.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        defer { replaying.store(false, ordering: .releasing) }
        let queued = pending.withLock { $0.items }
        guard !queued.isEmpty else { return }
        var replayed = 0
        for invalidation in queued {
            do {
                let versions = try await applyToL2(
                    addresses: invalidation.addresses,
                    tags: invalidation.tags,
                    prefixes: invalidation.prefixes,
                    l2: l2
                )
                apply(keys: versions.keys, tags: versions.tags, prefixes: versions.prefixes, remote: false)
                let message = BackplaneMessage(
                    origin: origin,
                    keys: versions.keys,
                    tags: versions.tags,
                    prefixes: versions.prefixes
                )
                try await l2.publish(message.encoded())
                pending.withLock { pending in pending.remove { $0.id == invalidation.id } }
                replayed += 1
            } catch {
                markL2Failed(error)
                break
            }
        }
        pendingCount.store(pending.withLock { $0.items.count }, ordering: .releasing)
        if replayed > 0 {
            logger.notice(
                "cache replayed invalidations made while Redis was down",
                metadata: ["cache.invalidations": "\(replayed)"]
            )
        }
    }
}
