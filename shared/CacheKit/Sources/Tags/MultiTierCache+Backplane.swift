import Logging
import ServiceLifecycle
import Synchronization
import WedSyncRedis

extension MultiTierCache {
    /// Runs the backplane, the background refreshes and the expiry sweep until graceful shutdown.
    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            if let subscriber {
                group.addTask { try await subscriber.run() }
                group.addTask { await self.listen(to: subscriber.events) }
            }
            group.addTask { await self.loadPrefixInvalidations() }
            group.addTask { await self.runBackgroundWork() }
            group.addTask { await self.sweepExpired() }
        }
    }

    private func listen(to events: AsyncStream<RedisSubscriberEvent>) async {
        for await event in events {
            switch event {
            case .subscribed:
                // Whatever was published while we were away is lost: forget every L1 entry and tag version, and
                // read the prefix invalidations made meanwhile from Redis.
                await replayPending()
                await loadPrefixInvalidations()
                clearLocalState()
                backplaneLive.store(true, ordering: .releasing)
                backplaneSessionCount.add(1, ordering: .releasing)
                logger.info("cache backplane live")
            case .disconnected(let reason):
                backplaneLive.store(false, ordering: .releasing)
                clearLocalState()
                logger.warning(
                    "cache backplane down: L1 cleared, new entries kept briefly",
                    metadata: ["cache.reason": "\(reason)"]
                )
            case .message(_, _, let payload):
                // This process's own messages come back too: they are known without decoding them.
                if BackplaneMessage.isSent(by: origin, payload) { continue }
                guard let message = BackplaneMessage.decode(payload) else {
                    logger.warning("cache backplane: a message that is not ours was ignored")
                    continue
                }
                guard message.origin != origin else { continue }
                apply(keys: message.keys, tags: message.tags, prefixes: message.prefixes, remote: true)
            }
        }
    }

    /// Learns the prefix invalidations Redis remembers (made while this process was away or not yet running).
    func loadPrefixInvalidations() async {
        guard let l2 else { return }
        do {
            let invalidations = try await l2.prefixInvalidations()
            sharedPrefixes.withLock { $0.replace(with: invalidations) }
        } catch {
            markL2Failed(error)
        }
    }

    func clearLocalState() {
        coordination.withLock { state in
            state.clearGeneration += 1
            l1.removeAll()
            tagVersions.removeAll()
        }
        // What this process invalidated while Redis was down stays invalid here until the replay.
        let waiting = pending.withLock { Array($0.tagCounts.keys) }
        for tag in waiting { tagVersions.bumpOffline(tag) }
    }

    /// Background refreshes, at most ``Configuration/backgroundConcurrency`` at once.
    private func runBackgroundWork() async {
        let limit = max(1, configuration.backgroundConcurrency)
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                var running = 0
                for await job in self.background {
                    if running >= limit {
                        await group.next()
                        running -= 1
                    }
                    group.addTask { await job.run() }
                    running += 1
                }
            }
        }
    }

    private func sweepExpired() async {
        await cancelWhenGracefulShutdown {
            var forgottenAt = self.now
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                // While the backplane is down, nothing learnt from L2 is trusted for longer than an L1 entry lives.
                if self.subscriber != nil, !self.isBackplaneLive,
                    self.now - forgottenAt >= self.configuration.outageL1TTL
                {
                    forgottenAt = self.now
                    await self.loadPrefixInvalidations()
                    self.clearLocalState()
                }
                self.l1.reclaimExpired(now: self.now)
                // Invalidations still waiting for Redis are retried every second once L2 answers.
                if self.pendingCount.load(ordering: .acquiring) > 0, self.isL2Usable(now: self.now) {
                    await self.replayPending()
                }
            }
        }
    }
}
