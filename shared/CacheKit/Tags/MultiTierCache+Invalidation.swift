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
        var versions: [String: UInt64]?
        if let l2, isL2Usable(now: now) {
            do {
                (versions, byPrefix) = try await applyToL2(invalidation, l2: l2)
                markL2Healthy()
            } catch {
                markL2Failed(error)
            }
        }
        apply(addresses: invalidation.addresses, tags: versions, bumping: invalidation.tags, prefixes: invalidation.prefixes)
        var propagated = l2 == nil
        if let l2, let versions {
            do {
                let message = BackplaneMessage(origin: origin, addresses: invalidation.addresses, tags: versions, prefixes: invalidation.prefixes)
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

    /// The L2 side: delete the addresses and prefixes (raising their key versions), raise the tags' versions.
    func applyToL2(_ invalidation: PendingInvalidation, l2: RedisL2Store) async throws -> (versions: [String: UInt64], byPrefix: Int) {
        try await l2.invalidate(addresses: invalidation.addresses)
        let versions = try await l2.bump(tags: invalidation.tags)
        var byPrefix = 0
        for prefix in invalidation.prefixes { byPrefix += try await l2.invalidate(prefix: prefix) }
        return (versions, byPrefix)
    }

    /// The local side, under the coordination lock so that no commit that read before it lands after it. `tags`
    /// are the versions L2 gave; without them (Redis down) the `bumping` tags are raised locally.
    func apply(addresses: [String], tags: [String: UInt64]?, bumping: [String], prefixes: [String]) {
        coordination.withLock { state in
            state.generation += 1
            for address in addresses { l1.remove(address) }
            if let tags {
                for (tag, version) in tags { tagVersions.merge(tag, version: version) }
            } else {
                for tag in bumping { tagVersions.bump(tag) }
            }
            for prefix in prefixes { l1.removeAll { $0.hasPrefix(prefix) } }
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
                apply(addresses: [], tags: versions, bumping: [], prefixes: [])
                let message = BackplaneMessage(origin: origin, addresses: invalidation.addresses, tags: versions, prefixes: invalidation.prefixes)
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
