import Logging
import Synchronization
import NIOCore

extension MultiTierCache {
    /// The load of `address` already running (started since the last invalidation), or a new one.
    func joinOrStartFlight(
        _ address: CacheAddress,
        namespace: CacheNamespace,
        loader: @escaping CacheLoader,
        keyVersion: UInt64?
    ) -> Flight {
        coordination.withLock { state in
            if let flight = state.flights[address.string], flight.generation == state.generation,
                flight.keyVersion >= state.floor(of: address.string)
            {
                return flight
            }
            state.nextFlight += 1
            let id = state.nextFlight
            let generation = state.generation
            let task = Task {
                await self.load(address, namespace: namespace, loader: loader, keyVersion: keyVersion, generation: generation, flight: id)
            }
            let flight = Flight(id: id, generation: generation, keyVersion: keyVersion ?? 0, task: task)
            state.flights[address.string] = flight
            return flight
        }
    }

    /// Starts a refresh of `address` in the background unless one is running.
    func refreshInBackground(_ address: CacheAddress, namespace: CacheNamespace, loader: @escaping CacheLoader) {
        let running = coordination.withLock { state in
            state.flights[address.string].map {
                $0.generation == state.generation && $0.keyVersion >= state.floor(of: address.string)
            } ?? false
        }
        guard !running else { return }
        backgroundContinuation.yield { [self] in
            _ = await joinOrStartFlight(address, namespace: namespace, loader: loader, keyVersion: nil).task.value
        }
    }

    /// One load: runs the loader, then commits the value into L1 (if no invalidation ran since the load began) and
    /// into L2 (if the key's version is still the one seen before loading).
    private func load(
        _ address: CacheAddress,
        namespace: CacheNamespace,
        loader: CacheLoader,
        keyVersion: UInt64?,
        generation: UInt64,
        flight: UInt64
    ) async -> LoadOutcome {
        CacheNamespace.count(namespace.loads)
        namespace.hotKeys.withLock { $0.record(address.key) }
        var expectedKeyVersion = keyVersion
        if expectedKeyVersion == nil, let l2, isL2Usable(now: now) {
            expectedKeyVersion = try? await l2.keyVersion(of: address.string)
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
            logger.debug("cache loader failed", metadata: ["cache.namespace": "\(namespace.name)", "cache.error": "\(type(of: error))"])
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
        entry.version = expectedKeyVersion ?? 0
        await learnVersions(of: entry.tags)
        let committed = coordination.withLock { state -> CacheEntry? in
            if state.flights[address.string]?.id == flight { state.flights.removeValue(forKey: address.string) }
            guard state.generation == generation, entry.version >= state.floor(of: address.string) else { return nil }
            var snapshot = entry
            var versions: [UInt64] = []
            for tag in entry.tags {
                guard let version = tagVersions.version(of: tag) else { return nil }
                versions.append(version)
            }
            snapshot.tagVersions = versions
            if namespace.policy.useL1 { _ = storeInL1(snapshot, at: address) }
            return snapshot
        }
        if let committed, let expectedKeyVersion, let l2, isL2Usable(now: now) {
            do {
                _ = try await l2.write(committed, at: address.string, expectedKeyVersion: expectedKeyVersion, now: now)
                markL2Healthy()
            } catch {
                markL2Failed(error)
            }
        }
        let result = committed ?? entry
        return result.isNegative ? .absent(result) : .value(result)
    }

    private func finish(_ flight: UInt64, at address: CacheAddress) {
        coordination.withLock { state in
            if state.flights[address.string]?.id == flight { state.flights.removeValue(forKey: address.string) }
        }
    }
}
