import Logging
import Synchronization
import Foundation
import WedSyncModels

/// An invalidation applied in this process that Redis and the other processes have not heard of yet.
struct PendingInvalidation: Sendable {
    var addresses: [String]
    var tags: [String]
    var prefixes: [String]
}

extension MultiTierCache {
    /// The most invalidations kept for replay while Redis is down; beyond it the oldest are dropped (and counted):
    /// every other process clears its L1 when the backplane returns anyway, so only L2 copies could outlive them.
    static let pendingLimit = 10_000

    /// Drops entries by address, by tag and by address prefix, in every tier and (over the backplane) in every
    /// process. When it returns, no read in this process sees a dropped entry; other processes drop theirs as soon
    /// as the message arrives. Without Redis it is applied here and replayed when Redis returns.
    @discardableResult
    public func invalidate(_ request: InvalidationRequest) async -> InvalidationResult {
        let invalidation = PendingInvalidation(addresses: request.keys, tags: request.tags, prefixes: request.prefixes)
        let now = self.now
        var byPrefix = 0
        var versions: L2Versions?
        if let l2, isL2Usable(now: now) {
            do {
                let applied = try await applyToL2(invalidation, l2: l2)
                versions = applied.versions
                byPrefix = applied.byPrefix
                markL2Healthy()
            } catch {
                markL2Failed(error)
            }
        }
        if let versions {
            apply(keys: versions.keys, tags: versions.tags, prefixes: invalidation.prefixes)
        } else {
            applyOffline(invalidation)
        }
        var propagated = l2 == nil
        if let l2, let versions {
            do {
                let message = BackplaneMessage(origin: origin, keys: versions.keys, tags: versions.tags, prefixes: invalidation.prefixes)
                try await l2.publish(message.encoded())
                propagated = true
            } catch {
                markL2Failed(error)
            }
        }
        if !propagated { remember(invalidation) }
        return InvalidationResult(
            invalidatedKeys: request.keys.count,
            invalidatedTags: request.tags.count,
            invalidatedByPrefix: byPrefix,
            propagated: propagated,
            at: Date(timeIntervalSince1970: now)
        )
    }

    /// Drops `address` everywhere (an invalidation by key).
    public func remove(_ address: CacheAddress) async {
        await invalidate(InvalidationRequest(keys: [address.string]))
    }

    /// The new versions of the keys and tags an invalidation changed in L2.
    struct L2Versions {
        var keys: [String: UInt64]
        var tags: [String: UInt64]
    }

    /// The L2 side: delete the addresses and prefixes (raising their key versions), raise the tags' versions.
    func applyToL2(_ invalidation: PendingInvalidation, l2: RedisL2Store) async throws -> (versions: L2Versions, byPrefix: Int) {
        let keys = try await l2.invalidate(addresses: invalidation.addresses)
        let tags = try await l2.bump(tags: invalidation.tags)
        var byPrefix = 0
        for prefix in invalidation.prefixes { byPrefix += try await l2.invalidate(prefix: prefix) }
        return (L2Versions(keys: keys, tags: tags), byPrefix)
    }

    /// The local side of a change L2 has made (here or in another process), under the coordination lock so that no
    /// commit that read before it lands after it: L1 copies of `keys` older than their new versions go, and no
    /// older version may be stored again; `tags` move to their new versions; `prefixes` are dropped.
    func apply(keys: [String: UInt64], tags: [String: UInt64], prefixes: [String]) {
        let now = self.now
        coordination.withLock { state in
            if !tags.isEmpty || !prefixes.isEmpty { state.generation += 1 }
            if !prefixes.isEmpty { state.clearGeneration += 1 }
            for (address, version) in keys {
                state.raiseFloor(of: address, to: version)
                _ = l1.get(address, now: now) { $0.version >= version }
            }
            for (tag, version) in tags { tagVersions.merge(tag, version: version) }
            for prefix in prefixes { l1.removeAll { $0.hasPrefix(prefix) } }
        }
    }

    /// The local side of an invalidation Redis could not take: keys and prefixes dropped, tags raised here, and
    /// every load in flight refused.
    func applyOffline(_ invalidation: PendingInvalidation) {
        coordination.withLock { state in
            state.generation += 1
            state.clearGeneration += 1
            for address in invalidation.addresses { l1.remove(address) }
            for tag in invalidation.tags { tagVersions.bump(tag) }
            for prefix in invalidation.prefixes { l1.removeAll { $0.hasPrefix(prefix) } }
        }
    }

    func remember(_ invalidation: PendingInvalidation) {
        let dropped = pending.withLock { pending -> Int in
            pending.append(invalidation)
            let excess = pending.count - Self.pendingLimit
            if excess > 0 { pending.removeFirst(excess) }
            return max(0, excess)
        }
        if dropped > 0 { droppedPending.add(dropped, ordering: .relaxed) }
    }

    /// Sends the invalidations Redis missed; those that still fail wait for the next attempt.
    func replayPending() async {
        guard let l2 else { return }
        let queued = pending.withLock { pending in
            defer { pending.removeAll() }
            return pending
        }
        guard !queued.isEmpty else { return }
        var failed: [PendingInvalidation] = []
        for invalidation in queued {
            do {
                let (versions, _) = try await applyToL2(invalidation, l2: l2)
                apply(keys: versions.keys, tags: versions.tags, prefixes: [])
                let message = BackplaneMessage(origin: origin, keys: versions.keys, tags: versions.tags, prefixes: invalidation.prefixes)
                try await l2.publish(message.encoded())
            } catch {
                failed.append(invalidation)
            }
        }
        if !failed.isEmpty {
            for invalidation in failed { remember(invalidation) }
        } else {
            logger.notice("cache replayed invalidations made while Redis was down", metadata: ["cache.invalidations": "\(queued.count)"])
        }
    }
}
