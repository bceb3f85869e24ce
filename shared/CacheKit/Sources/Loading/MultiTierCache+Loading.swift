import Logging
import NIOCore
import Synchronization

extension MultiTierCache {
    /// The load of `address` already running (if nothing about the key changed since it began), or a new one.
    /// Returns whether it joined a load it did not start.
    func joinOrStartFlight(
        _ address: CacheAddress,
        namespace: CacheNamespace,
        loader: @escaping CacheLoader,
        keyVersion: UInt64?
    ) -> (Flight, joined: Bool) {
        coordination.withLock { state in
            joinOrStartFlight(address, namespace: namespace, loader: loader, keyVersion: keyVersion, in: &state)
        }
    }

    /// A read's way to the loader after missing L1 and L2: the value in L1 if it is fresh there now, else the load
    /// running or a new one. Both are decided under the lock every load commits under, so a load that ends
    /// between the read's look at L1 and here is used rather than run again. When no load runs and L1 has nothing,
    /// but a version of the key was stored or announced after `changedAfter` (the read's start), L2 holds it now:
    /// the read is sent back to L2 (a load here and another process's both ended while it read L2, and the other's
    /// newer version pushed this one's out of L1).
    func storedOrFlight(
        _ address: CacheAddress,
        namespace: CacheNamespace,
        loader: @escaping CacheLoader,
        keyVersion: UInt64?,
        changedAfter readStart: Flight.Start? = nil
    ) -> StoredOrFlight {
        coordination.withLock { state in
            if namespace.policy.useL1, state.flights[address.string] == nil {
                let now = self.now
                if let entry = l1.get(address.string, now: now, inspect: isCurrentInL1), entry.isFresh(at: now) {
                    return .stored(entry)
                }
            }
            if state.flights[address.string] == nil, let readStart,
                let floor = state.floors[address.string], floor.ticket > readStart.ticket
            {
                return .changedSinceRead
            }
            let (flight, joined) = joinOrStartFlight(
                address,
                namespace: namespace,
                loader: loader,
                keyVersion: keyVersion,
                in: &state
            )
            return .flight(flight, joined: joined)
        }
    }

    private func joinOrStartFlight(
        _ address: CacheAddress,
        namespace: CacheNamespace,
        loader: @escaping CacheLoader,
        keyVersion: UInt64?,
        in state: inout Coordination
    ) -> (Flight, joined: Bool) {
        if let flight = state.flights[address.string], flight.start.floor == state.floor(of: address.string),
            state.admits(address.string, version: flight.start.floor, since: flight.start)
        {
            return (flight, true)
        }
        state.nextFlight += 1
        let id = state.nextFlight
        let start = Flight.Start(
            clearGeneration: state.clearGeneration,
            ticket: state.nextTicket,
            floor: state.floor(of: address.string),
            prefixSequence: state.prefixSequence,
            stamp: tagVersions.epoch
        )
        let outcome = FlightOutcome()
        let task = Task {
            let loaded = await self.load(
                address,
                namespace: namespace,
                loader: loader,
                keyVersion: keyVersion,
                start: start,
                flight: id
            )
            outcome.finish(loaded)
            return loaded
        }
        let flight = Flight(id: id, start: start, task: task, outcome: outcome)
        state.flights[address.string] = flight
        return (flight, false)
    }

    /// Starts a refresh of `address` in the background unless one is queued or running.
    func refreshInBackground(_ address: CacheAddress, namespace: CacheNamespace, loader: @escaping CacheLoader) {
        let queued = coordination.withLock { state in state.refreshing.insert(address.string).inserted }
        guard queued else { return }
        let job = BackgroundJob(address: address.string) { [self] in
            defer { _ = coordination.withLock { $0.refreshing.remove(address.string) } }
            _ = await joinOrStartFlight(address, namespace: namespace, loader: loader, keyVersion: nil).0.task.value
        }
        switch backgroundContinuation.yield(job) {
        case .dropped(let dropped):
            // The queue is full and let its oldest job go: that address may be refreshed again later.
            if let other = dropped.address { _ = coordination.withLock { $0.refreshing.remove(other) } }
        case .terminated:
            _ = coordination.withLock { $0.refreshing.remove(address.string) }
        default:
            break
        }
    }

    /// One load. It notes the key's version and the deployment's invalidation sequence number before running the
    /// loader, then commits into L1 only if neither the key nor any of the value's tags changed since (and into L2
    /// only if the key's version there is still the one noted): data read before an invalidation never lands
    /// after it.
    private func load(
        _ address: CacheAddress,
        namespace: CacheNamespace,
        loader: CacheLoader,
        keyVersion: UInt64?,
        start: Flight.Start,
        flight: UInt64
    ) async -> LoadOutcome {
        CacheNamespace.count(namespace.loads)
        namespace.hotKeys.withLock { $0.record(address.key) }
        var expectedKeyVersion = keyVersion
        var sequenceAtStart: UInt64?
        if let l2, isL2Usable(now: now) {
            do {
                async let sequence = l2.currentSequence()
                if expectedKeyVersion == nil { expectedKeyVersion = try await l2.keyVersion(of: address.string) }
                sequenceAtStart = try await sequence
            } catch {
                markL2Failed(error)
                (expectedKeyVersion, sequenceAtStart) = (nil, nil)
            }
        }
        var leaseToken: String?
        if namespace.policy.distributedLoadLock, let l2, sequenceAtStart != nil {
            let token = String(UInt64.random(in: 1...UInt64.max), radix: 36)
            do {
                if try await l2.acquireLoadLease(address.string, token: token, lease: namespace.policy.loadLease) {
                    leaseToken = token
                } else if let entry = await awaitOtherLoad(of: address, namespace: namespace, l2: l2, start: start) {
                    finish(flight, at: address)
                    return .value(entry, committed: false)
                }
            } catch {
                // No lease to be had: load here rather than wait for nobody.
                markL2Failed(error)
            }
        }
        defer {
            if let leaseToken, let l2 {
                backgroundContinuation.yield(
                    BackgroundJob(address: nil) { try? await l2.releaseLoadLease(address.string, token: leaseToken) }
                )
            }
        }
        let started = ContinuousClock.now
        let loaded: CacheLoad?
        do {
            loaded = try await loader()
            loaderLatency.record(ContinuousClock.now - started)
        } catch {
            loaderLatency.record(ContinuousClock.now - started)
            CacheNamespace.count(namespace.loadFailures)
            finish(flight, at: address)
            logger.debug(
                "cache loader failed",
                metadata: ["cache.namespace": "\(namespace.name)", "cache.error": "\(type(of: error))"]
            )
            return .failed
        }
        let now = self.now
        var entry: CacheEntry
        if let loaded {
            entry = makeEntry(loaded, namespace: namespace, now: now)
            CacheNamespace.count(namespace.bytesWritten, by: loaded.body.readableBytes)
        } else if let negativeTTL = namespace.policy.negativeTTL {
            entry = CacheEntry(body: ByteBuffer(), contentType: "", createdAt: now, ttl: negativeTTL, isNegative: true)
        } else {
            finish(flight, at: address)
            return .absent(nil)
        }
        entry.version = expectedKeyVersion ?? start.floor
        entry.sequence = sequenceAtStart ?? 0
        await learnVersions(of: entry.tags)
        let online = sequenceAtStart != nil && expectedKeyVersion != nil
        let committed = coordination.withLock { state -> CacheEntry? in
            if state.flights[address.string]?.id == flight { state.flights.removeValue(forKey: address.string) }
            guard state.admits(address.string, version: entry.version, since: start),
                !isPendingInvalidation(address.string), let states = tagVersions.states(of: entry.tags)
            else { return nil }
            if let sequenceAtStart {
                // Every tag invalidated at or before the noted sequence number, none after it.
                guard states.allSatisfy({ ($0.sequence ?? .max) <= sequenceAtStart }) else { return nil }
            } else {
                // Offline: every tag known here before the load began and unchanged since.
                guard states.allSatisfy({ $0.stamp <= start.stamp }) else { return nil }
            }
            var snapshot = entry
            snapshot.tagVersions = states.map(\.version)
            snapshot.tagStamps = states.map(\.stamp)
            // Loaded while L2 was unreachable: kept briefly (it could not be checked against L2's versions).
            if namespace.policy.useL1 { _ = storeInL1(snapshot, at: address, briefly: l2 != nil && !online) }
            return snapshot
        }
        if let committed, online, let expectedKeyVersion, let l2, isL2Usable(now: now) {
            do {
                _ = try await l2.write(committed, at: address.string, expectedKeyVersion: expectedKeyVersion, now: now)
                markL2Healthy()
            } catch {
                markL2Failed(error)
            }
        }
        let result = committed ?? entry
        return result.isNegative ? .absent(result) : .value(result, committed: committed != nil)
    }

    /// While another process holds the load lease of `address`, waits (up to the lease) for its value to appear in
    /// L2 and takes it; `nil` when it did not come (this process then loads it itself).
    private func awaitOtherLoad(
        of address: CacheAddress,
        namespace: CacheNamespace,
        l2: RedisL2Store,
        start: Flight.Start
    ) async -> CacheEntry? {
        let deadline = ContinuousClock.now + namespace.policy.loadLease
        var pause = Duration.milliseconds(5)
        while ContinuousClock.now < deadline {
            do {
                try await Task.sleep(for: pause)
            } catch {
                return nil
            }
            pause = min(pause * 2, .milliseconds(50))
            guard let record = try? await l2.read(address.string), let entry = record.entry else { continue }
            let now = self.now
            guard entry.isFresh(at: now), entry.createdAt >= now - namespace.policy.loadLease.secondsValue - 1,
                await isCurrentInL2(entry, at: address)
            else { continue }
            promote(entry, to: address, namespace: namespace, readStart: start)
            return entry
        }
        return nil
    }

    private func finish(_ flight: UInt64, at address: CacheAddress) {
        coordination.withLock { state in
            if state.flights[address.string]?.id == flight { state.flights.removeValue(forKey: address.string) }
        }
    }
}

extension Duration {
    var secondsValue: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
