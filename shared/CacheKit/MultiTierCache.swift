import DequeModule
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import WedSyncRedis

/// The multi-tier cache: L1 in this process, L2 in Redis shared by every process, a loader behind both.
///
/// ```swift
/// let cache = MultiTierCache(configuration: .init(backplane: redisConfiguration), l2: RedisL2Store(redis: redis), logger: logger)
/// // run it as a Service (backplane, background refreshes, expiry sweep), then:
/// let lookup = try await cache.get(CacheAddress(namespace: "schedules", key: "2026-06-13")) {
///     CacheLoad(body: try await api.schedules(on: day), tags: ["schedules:2026-06-13"])
/// }
/// ```
///
/// **Reads** walk L1 → L2 → loader and promote on the way back. Concurrent misses of one key share one load
/// (single flight). An entry past its TTL but within the namespace's stale-while-revalidate window is served while
/// one background refresh runs; one within its fail-safe window is served when the loader fails or exceeds its soft
/// timeout. Hot entries read near the end of their TTL are refreshed before they expire.
///
/// **Consistency.** Tags are versioned (``TagVersions``): invalidating one is O(1) in every tier. Every commit into
/// L1 (a promotion from L2, a load) happens under one lock and only if no invalidation ran since its read began, so
/// a value read before an invalidation is never stored after it; in L2 the same holds through key versions
/// (``RedisL2Store``). Other processes hear of every invalidation over the backplane; while it is down this process
/// clears its L1 and keeps new entries only briefly, and clears again when it returns.
///
/// **Redis down.** L2 failures are never surfaced: the cache answers from L1 and the loader, retries L2 after
/// ``Configuration/l2RetryInterval``, and replays the invalidations it could not send once Redis is back.
public final class MultiTierCache: Service, Sendable {
    public let configuration: Configuration
    public let l1: L1Cache<CacheEntry>
    public let l2: RedisL2Store?
    public let tagVersions = TagVersions()
    let logger: Logger
    let registry: NamespaceRegistry
    let subscriber: RedisSubscriber?
    /// This process's name on the backplane.
    let origin = "\(UInt64.random(in: 1...UInt64.max))"

    let l1Latency = LatencyHistogram()
    let l2Latency = LatencyHistogram()
    let loaderLatency = LatencyHistogram()

    struct Flight: Sendable {
        let id: UInt64
        let generation: UInt64
        /// The key's version the load started from: a caller arriving after the key changed must not join it.
        let keyVersion: UInt64
        let task: Task<LoadOutcome, Never>
    }

    /// What decides whether a value read earlier may still be stored now. Held under one lock with every commit
    /// into L1, so a commit either lands before an invalidation (which then removes it) or is refused after it.
    struct Coordination {
        /// Rises on every invalidation by tag or prefix and every clear: a load that began before does not commit
        /// (its tags were unknown until it returned, so its data may predate the invalidation).
        var generation: UInt64 = 1
        /// Rises on prefix invalidations and clears: a promotion from L2 read before does not land.
        var clearGeneration: UInt64 = 1
        /// Per address, the lowest key version that may still be stored (raised by invalidations and sets, here or
        /// in another process). Bounded: the oldest floors are forgotten, long after any read that could race them.
        var floors: [String: UInt64] = [:]
        var floorOrder = Deque<String>()
        var flights: [String: Flight] = [:]
        var nextFlight: UInt64 = 0

        static let floorLimit = 100_000

        func floor(of address: String) -> UInt64 { floors[address] ?? 0 }

        mutating func raiseFloor(of address: String, to version: UInt64) {
            if let known = floors[address] {
                if version > known { floors[address] = version }
                return
            }
            floors[address] = version
            floorOrder.append(address)
            while floorOrder.count > Self.floorLimit, let oldest = floorOrder.popFirst() {
                floors.removeValue(forKey: oldest)
            }
        }
    }

    let coordination = Mutex(Coordination())
    /// Milliseconds since 1970 before which L2 is not tried (after a failure).
    let l2DownUntil = Atomic<Int64>(0)
    let backplaneLive: Atomic<Bool>
    /// Invalidations applied here that Redis and the other processes have not heard of yet.
    let pending = Mutex<[PendingInvalidation]>([])
    let droppedPending = Atomic<Int>(0)
    let background: AsyncStream<@Sendable () async -> Void>
    let backgroundContinuation: AsyncStream<@Sendable () async -> Void>.Continuation

    public init(configuration: Configuration = .init(), l2: RedisL2Store? = nil, logger: Logger) {
        self.configuration = configuration
        self.l1 = L1Cache(configuration: configuration.l1)
        self.l2 = l2
        self.logger = logger
        self.registry = NamespaceRegistry(
            policies: configuration.namespaces,
            defaultPolicy: configuration.defaultPolicy,
            limit: configuration.maximumNamespaces,
            clock: configuration.clock
        )
        if let backplane = configuration.backplane, l2 != nil {
            subscriber = RedisSubscriber(configuration: backplane, channels: [RedisL2Store.channel], heartbeat: .seconds(2), logger: logger)
            backplaneLive = Atomic(false)
        } else {
            subscriber = nil
            backplaneLive = Atomic(true)
        }
        (background, backgroundContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
    }

    /// The namespace called `name` (created with the default policy on first use); throws once too many exist.
    public func namespace(_ name: String) throws(CacheKitError) -> CacheNamespace {
        guard let namespace = registry.namespace(name) else {
            throw CacheKitError(.invalidKey, "too many namespaces (at most \(registry.limit))")
        }
        return namespace
    }

    var now: Double { configuration.clock() }

    // MARK: Reads

    /// Reads `address`: from L1, else L2, else `loader` (once, however many callers miss together). `nil` when
    /// nobody has it (no loader, or the loader found nothing). Throws only when the loader failed and no old value
    /// could stand in.
    public func get(_ address: CacheAddress, loader: CacheLoader? = nil) async throws(CacheKitError) -> CacheLookup? {
        let namespace = try self.namespace(address.namespace)
        let now = self.now
        CacheNamespace.count(namespace.lookups)
        var fallback: (entry: CacheEntry, tier: CacheTier)?

        if namespace.policy.useL1 {
            let started = ContinuousClock.now
            let found = l1.get(address.string, now: now, inspect: isCurrentInL1)
            l1Latency.record(ContinuousClock.now - started)
            if let entry = found {
                if entry.isFresh(at: now) {
                    CacheNamespace.count(namespace.l1Hits)
                    if now - entry.createdAt > entry.ttl / 2 { CacheNamespace.count(namespace.lateHits) }
                    if let loader, shouldRefreshEarly(entry, namespace: namespace, now: now) {
                        refreshInBackground(address, namespace: namespace, loader: loader)
                    }
                    return CacheLookup(entry: entry, tier: .l1, state: .fresh)
                }
                if let loader, entry.isServableStale(at: now) {
                    CacheNamespace.count(namespace.staleServed)
                    refreshInBackground(address, namespace: namespace, loader: loader)
                    return CacheLookup(entry: entry, tier: .l1, state: .stale)
                }
                fallback = (entry, .l1)
            }
        }

        let clearGeneration = coordination.withLock { $0.clearGeneration }
        var keyVersion: UInt64?
        if let l2, isL2Usable(now: now) {
            CacheNamespace.count(namespace.l2Lookups)
            do {
                let started = ContinuousClock.now
                let record = try await l2.read(address.string)
                l2Latency.record(ContinuousClock.now - started)
                markL2Healthy()
                keyVersion = record.keyVersion
                if let entry = record.entry, entry.retainUntil > now, await isCurrent(entry) {
                    if entry.isFresh(at: now) {
                        promote(entry, to: address, namespace: namespace, clearGeneration: clearGeneration)
                        CacheNamespace.count(namespace.l2Hits)
                        return CacheLookup(entry: entry, tier: .l2, state: .fresh)
                    }
                    if let loader, entry.isServableStale(at: now) {
                        promote(entry, to: address, namespace: namespace, clearGeneration: clearGeneration)
                        CacheNamespace.count(namespace.staleServed)
                        refreshInBackground(address, namespace: namespace, loader: loader)
                        return CacheLookup(entry: entry, tier: .l2, state: .stale)
                    }
                    if fallback.map({ entry.version >= $0.entry.version }) ?? true { fallback = (entry, .l2) }
                }
            } catch {
                markL2Failed(error)
            }
        }

        CacheNamespace.count(namespace.misses)
        if fallback != nil { CacheNamespace.count(namespace.expiredMisses) }
        guard let loader else { return nil }
        let flight = joinOrStartFlight(address, namespace: namespace, loader: loader, keyVersion: keyVersion)
        let outcome: LoadOutcome?
        if let fallback, fallback.entry.isFailSafe(at: now) {
            outcome = await Self.value(of: flight, within: namespace.policy.softTimeout)
        } else {
            outcome = await flight.task.value
        }
        switch outcome {
        case .value(let entry):
            return CacheLookup(entry: entry, tier: .loader, state: .fresh)
        case .absent(let negative):
            return negative.map { CacheLookup(entry: $0, tier: .loader, state: .fresh) }
        case .failed, nil:
            if let fallback, fallback.entry.isFailSafe(at: now) {
                CacheNamespace.count(namespace.failSafeServed)
                return CacheLookup(entry: fallback.entry, tier: fallback.tier, state: .failSafe)
            }
            throw CacheKitError(.loaderFailed, "the loader failed and no earlier value is available")
        }
    }

    /// The flight's outcome, or `nil` when it takes longer than `timeout` (the flight goes on and commits later).
    static func value(of flight: Flight, within timeout: Duration) async -> LoadOutcome? {
        // Awaiting a task's value cannot be cancelled, so a task group would wait for the flight anyway: race two
        // tasks on one continuation instead, and stop the timer when the flight wins.
        let race = FirstOutcome()
        return await withCheckedContinuation { continuation in
            race.begin(continuation, timer: Task {
                try? await Task.sleep(for: timeout)
                race.finish(nil)
            })
            Task { race.finish(await flight.task.value) }
        }
    }

    /// Resumes a continuation with whichever outcome comes first.
    final class FirstOutcome: Sendable {
        private let state = Mutex<(continuation: CheckedContinuation<LoadOutcome?, Never>?, timer: Task<Void, Never>?, done: Bool)>((nil, nil, false))

        func begin(_ continuation: CheckedContinuation<LoadOutcome?, Never>, timer: Task<Void, Never>) {
            state.withLock { $0 = (continuation, timer, false) }
        }

        func finish(_ outcome: LoadOutcome?) {
            let winner = state.withLock { state -> (CheckedContinuation<LoadOutcome?, Never>, Task<Void, Never>?)? in
                guard !state.done, let continuation = state.continuation else { return nil }
                state.done = true
                return (continuation, state.timer)
            }
            guard let (continuation, timer) = winner else { return }
            timer?.cancel()
            continuation.resume(returning: outcome)
        }
    }

    // MARK: Writes

    /// Stores a value under `address` in both tiers (L2 first) and tells the other processes to drop their copies.
    /// Returns the tiers that hold it.
    @discardableResult
    public func set(
        _ address: CacheAddress,
        body: ByteBuffer,
        contentType: String,
        tags: [String] = [],
        ttl: Double? = nil
    ) async throws(CacheKitError) -> [CacheTier] {
        let namespace = try self.namespace(address.namespace)
        var entry = makeEntry(CacheLoad(body: body, contentType: contentType, tags: tags, ttl: ttl), namespace: namespace, now: now)
        await learnVersions(of: entry.tags)
        entry.tagVersions = entry.tags.map { tagVersions.version(of: $0) ?? 0 }
        var tiers: [CacheTier] = []
        if let l2, isL2Usable(now: now) {
            do {
                if let version = try await l2.write(entry, at: address.string, expectedKeyVersion: nil, now: now) {
                    entry.version = version
                    tiers.append(.l2)
                    // Other processes drop older copies; this version stays.
                    try? await l2.publish(BackplaneMessage(origin: origin, keys: [address.string: version], tags: [:], prefixes: []).encoded())
                }
                markL2Healthy()
            } catch {
                markL2Failed(error)
            }
        }
        CacheNamespace.count(namespace.writes)
        CacheNamespace.count(namespace.bytesWritten, by: body.readableBytes)
        guard namespace.policy.useL1 else { return tiers }
        let stored = coordination.withLock { state -> Bool in
            if !tiers.contains(.l2) {
                entry.version = max(state.floor(of: address.string), l1.get(address.string, now: now)?.version ?? 0) + 1
            }
            // Loads and promotions of this key that read older data must not land after this write.
            state.raiseFloor(of: address.string, to: entry.version)
            return storeInL1(entry, at: address)
        }
        if stored { tiers.insert(.l1, at: 0) }
        return tiers
    }

    /// The keys of `namespace` L2 holds whose key matches the glob `pattern` (for re-warming); empty without L2.
    public func keys(in namespace: String, matching pattern: String) async throws -> [String] {
        guard let l2 else { return [] }
        let prefix = "\(namespace)/"
        return try await l2.addresses(matching: prefix + pattern).compactMap { address in
            address.hasPrefix(prefix) ? String(address.dropFirst(prefix.count)) : nil
        }
    }

    // MARK: Internals

    func makeEntry(_ load: CacheLoad, namespace: CacheNamespace, now: Double) -> CacheEntry {
        let policy = namespace.policy
        var ttl = min(load.ttl ?? policy.ttl, policy.maximumTTL)
        if load.ttl == nil, configuration.ttlJitter > 0 {
            ttl *= 1 - Double.random(in: 0..<configuration.ttlJitter)
        }
        return CacheEntry(
            body: load.body,
            contentType: load.contentType,
            tags: load.tags,
            createdAt: now,
            ttl: max(0.001, ttl),
            staleGrace: policy.staleWhileRevalidate,
            failSafe: policy.failSafe
        )
    }

    /// Puts `entry` in L1 unless a newer version is there. Call with the coordination lock held.
    func storeInL1(_ entry: CacheEntry, at address: CacheAddress) -> Bool {
        let now = self.now
        var entry = entry
        entry.checkedEpoch = 0
        let retainUntil = backplaneLive.load(ordering: .acquiring) ? entry.retainUntil : min(entry.retainUntil, now + configuration.outageL1TTL)
        let version = entry.version
        return l1.set(address.string, entry, cost: entry.cost, retainUntil: retainUntil, now: now) { existing in
            existing.version <= version
        }
    }

    /// Copies an entry read from L2 into L1, unless the key changed since (its floor rose past the entry's
    /// version) or a prefix invalidation or clear ran. A tag invalidation needs no check here: the entry keeps
    /// the tag versions it was read with, and the next L1 read finds them outdated.
    func promote(_ entry: CacheEntry, to address: CacheAddress, namespace: CacheNamespace, clearGeneration: UInt64) {
        guard namespace.policy.useL1 else { return }
        coordination.withLock { state in
            guard state.clearGeneration == clearGeneration, entry.version >= state.floor(of: address.string) else { return }
            _ = storeInL1(entry, at: address)
        }
    }

    /// The L1 check of an entry's tags, skipped while no tag changed since it was last checked.
    var isCurrentInL1: @Sendable (inout CacheEntry) -> Bool {
        let versions = tagVersions
        return { entry in
            guard !entry.tags.isEmpty else { return true }
            let epoch = versions.epoch
            if entry.checkedEpoch == epoch { return true }
            guard versions.matches(tags: entry.tags, recorded: entry.tagVersions) else { return false }
            entry.checkedEpoch = epoch
            return true
        }
    }

    /// Whether an entry read from L2 still carries the current version of each of its tags.
    func isCurrent(_ entry: CacheEntry) async -> Bool {
        guard !entry.tags.isEmpty else { return true }
        await learnVersions(of: entry.tags)
        return tagVersions.matches(tags: entry.tags, recorded: entry.tagVersions)
    }

    /// Makes sure this process knows the version of every tag in `tags`, asking L2 for those it does not.
    func learnVersions(of tags: [String]) async {
        let unknown = tagVersions.unknown(tags)
        guard !unknown.isEmpty else { return }
        if let l2, isL2Usable(now: now) {
            do {
                for (tag, version) in try await l2.versions(of: unknown) { tagVersions.merge(tag, version: version) }
                return
            } catch {
                markL2Failed(error)
            }
        }
        // Without Redis, start from 0 here: invalidations made meanwhile bump it locally, and when the backplane
        // returns every version is forgotten and learnt again.
        for tag in unknown { tagVersions.merge(tag, version: 0) }
    }

    func shouldRefreshEarly(_ entry: CacheEntry, namespace: CacheNamespace, now: Double) -> Bool {
        let share = namespace.policy.eagerRefreshShare
        return share > 0 && now >= entry.freshUntil - entry.ttl * share
    }

    // MARK: L2 health

    func isL2Usable(now: Double) -> Bool {
        l2 != nil && Int64(now * 1000) >= l2DownUntil.load(ordering: .relaxed)
    }

    /// Whether L2 answered its last call.
    public var isL2Available: Bool { l2 != nil && l2DownUntil.load(ordering: .relaxed) == 0 }

    /// Whether this process hears every invalidation (always true without a backplane).
    public var isBackplaneLive: Bool { backplaneLive.load(ordering: .acquiring) }

    func markL2Failed(_ error: any Error) {
        let retryAt = Int64((now + Double(configuration.l2RetryInterval / .milliseconds(1)) / 1000) * 1000)
        if l2DownUntil.exchange(retryAt, ordering: .relaxed) == 0 {
            logger.warning("cache L2 unavailable: serving from L1 and the loader", metadata: ["cache.error": "\(error)"])
        }
    }

    func markL2Healthy() {
        if l2DownUntil.exchange(0, ordering: .relaxed) != 0 {
            logger.notice("cache L2 is back")
            // Invalidations made while it was unreachable go out now (also after a backplane reconnect, if the
            // outage was long enough to drop the subscription).
            backgroundContinuation.yield { [self] in await replayPending() }
        }
    }
}
