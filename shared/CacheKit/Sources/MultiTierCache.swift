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
/// **Consistency.** Tags are versioned (``TagVersions``): invalidating one is O(1) in every tier. A load notes the
/// key's version and the deployment's invalidation sequence number before its loader reads, and commits only if
/// neither the key, nor a prefix covering it, nor any of the value's tags was invalidated after that; a promotion
/// from L2 lands only if the key did not change since its read. Every commit into L1 is checked under one lock
/// (``Coordination``), so a value read before an acknowledged invalidation is never stored after it; in L2 the
/// same holds through conditional writes on the key's version and the sequence numbers entries carry
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
    /// ``Configuration/clock``, kept apart: reading it through `configuration` copies the whole configuration.
    let clock: @Sendable () -> Double
    let logger: Logger
    let registry: NamespaceRegistry
    let subscriber: RedisSubscriber?
    /// This process's name on the backplane.
    let origin = "\(UInt64.random(in: 1...UInt64.max))"

    let l1Latency = LatencyHistogram()
    let l2Latency = LatencyHistogram()
    let loaderLatency = LatencyHistogram()

    /// What a read that missed both tiers goes on with: a value a load just committed, or a load.
    enum StoredOrFlight: Sendable {
        case stored(CacheEntry)
        case flight(Flight, joined: Bool)
        /// Nothing in L1 and no load running, but a version of the key was stored here or announced by another
        /// process while the read was at L2: L2 holds it now, so read it again rather than load.
        case changedSinceRead
    }

    struct Flight: Sendable {
        /// What the world looked like when a load began: a caller arriving after any of it changed must not join,
        /// and the load commits only if none of it changed.
        struct Start: Sendable {
            let clearGeneration: UInt64
            /// ``Coordination/nextTicket``: a floor of the address's bucket forgotten since refuses the load.
            let ticket: UInt64
            /// The address's floor.
            let floor: UInt64
            let prefixSequence: UInt64
            /// ``TagVersions/epoch``: a joiner refuses the value if one of its tags changed since.
            let stamp: UInt64
        }

        let id: UInt64
        let start: Start
        let task: Task<LoadOutcome, Never>
        /// The same outcome, for a reader that may give up waiting (a soft timeout).
        let outcome: FlightOutcome
    }

    /// What decides whether a value read earlier may still be stored now. Held under one lock with every commit
    /// into L1, so a commit either lands before an invalidation (which then removes it) or is refused after it.
    struct Coordination {
        /// Rises when L1 is cleared (backplane outage) or too many floors or prefixes were forgotten: whatever was
        /// read before does not land.
        var clearGeneration: UInt64 = 1
        /// Per address, the lowest key version that may still be stored, raised by invalidations and sets here or
        /// in another process. Bounded: the oldest (by last raise) are forgotten, and the ticket at which a floor was
        /// forgotten is kept for its hash bucket, so what was read before in that bucket does not land.
        var floors: [String: (version: UInt64, ticket: UInt64)] = [:]
        var forgotten = [UInt64](repeating: 0, count: Self.forgottenBuckets)
        var floorTickets = Deque<(address: String, ticket: UInt64)>()
        var nextTicket: UInt64 = 0
        /// Recent prefix invalidations, numbered; a read that began before one whose prefix matches does not land.
        var prefixLog = Deque<(sequence: UInt64, prefix: String)>()
        var prefixSequence: UInt64 = 0
        var flights: [String: Flight] = [:]
        var nextFlight: UInt64 = 0
        /// Addresses with a background refresh queued or running.
        var refreshing: Set<String> = []

        static let floorLimit = 100_000
        static let prefixLogLimit = 1_000
        static let forgottenBuckets = 4_096

        static func bucket(_ address: String) -> Int { address.hashValue & (forgottenBuckets - 1) }

        func floor(of address: String) -> UInt64 { floors[address]?.version ?? 0 }

        mutating func raiseFloor(of address: String, to version: UInt64) {
            let known = floors[address]?.version ?? 0
            guard version > known || floors[address] == nil else { return }
            nextTicket += 1
            floors[address] = (max(version, known), nextTicket)
            floorTickets.append((address, nextTicket))
            while floors.count > Self.floorLimit, let oldest = floorTickets.popFirst() {
                guard floors[oldest.address]?.ticket == oldest.ticket else { continue }
                floors.removeValue(forKey: oldest.address)
                // A forgotten floor could let an older value of that key in: refuse what its bucket read before.
                forgotten[Self.bucket(oldest.address)] = nextTicket
            }
            if floorTickets.count > 2 * Self.floorLimit + 1_024 {
                let live = floors
                floorTickets = Deque(floorTickets.filter { live[$0.address]?.ticket == $0.ticket })
            }
        }

        mutating func logPrefix(_ prefix: String) {
            prefixSequence += 1
            prefixLog.append((prefixSequence, prefix))
            if prefixLog.count > Self.prefixLogLimit {
                prefixLog.removeFirst()
                clearGeneration += 1
            }
        }

        /// Whether a prefix invalidation matching `address` came after `sequence`.
        func prefixInvalidated(_ address: String, since sequence: UInt64) -> Bool {
            guard prefixSequence > sequence else { return false }
            for entry in prefixLog.reversed() {
                guard entry.sequence > sequence else { break }
                if address.hasPrefix(entry.prefix) { return true }
            }
            return false
        }

        /// What a read notes before it begins, for ``admits(_:version:since:)``.
        var snapshot: Flight.Start {
            Flight.Start(
                clearGeneration: clearGeneration,
                ticket: nextTicket,
                floor: 0,
                prefixSequence: prefixSequence,
                stamp: 0
            )
        }

        /// Whether a value of `address` at key `version`, read when the state was `start`, may still be stored.
        func admits(_ address: String, version: UInt64, since start: Flight.Start) -> Bool {
            start.clearGeneration == clearGeneration && forgotten[Self.bucket(address)] <= start.ticket
                && version >= floor(of: address) && !prefixInvalidated(address, since: start.prefixSequence)
        }
    }

    /// Marks versions this process made up while L2 was unreachable: they never compare with L2's.
    static let localVersion: UInt64 = 1 << 63

    let coordination = Mutex(Coordination())
    /// Milliseconds since 1970 before which L2 is not tried (after a failure).
    let l2DownUntil = Atomic<Int64>(0)
    let backplaneLive: Atomic<Bool>
    /// Subscriptions of the backplane so far (each one after a drop cleared what the process held).
    let backplaneSessionCount = Atomic<Int>(0)
    /// Invalidations applied here that Redis and the other processes have not heard of yet.
    let pending = Mutex(PendingInvalidations())
    let pendingCount = Atomic<Int>(0)
    /// Whether a replay of pending invalidations is under way: the subscription, the one-second retry and L2's
    /// recovery each start one, and two at once would apply the same invalidation twice.
    let replaying = Atomic<Bool>(false)
    let sharedPrefixes = Mutex(SharedPrefixLog())
    /// L2 entries the background prefix sweeps deleted.
    let sweptByPrefix = Atomic<Int>(0)
    /// Work for the background: a refresh (of `address`) or a replay.
    struct BackgroundJob: Sendable {
        var address: String?
        var run: @Sendable () async -> Void
    }

    let background: AsyncStream<BackgroundJob>
    let backgroundContinuation: AsyncStream<BackgroundJob>.Continuation

    public init(configuration: Configuration = .init(), l2: RedisL2Store? = nil, logger: Logger) {
        self.configuration = configuration
        self.clock = configuration.clock
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
            subscriber = RedisSubscriber(
                configuration: backplane,
                fallbacks: configuration.backplaneFallbacks,
                channels: [RedisL2Store.channel],
                heartbeat: .seconds(2),
                logger: logger
            )
            backplaneLive = Atomic(false)
        } else {
            subscriber = nil
            backplaneLive = Atomic(true)
        }
        (background, backgroundContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
    }

    /// The namespace called `name` (created with its policy on first use); throws once too many exist.
    public func namespace(_ name: String) throws(CacheKitError) -> CacheNamespace {
        guard let namespace = registry.namespace(name) else {
            throw CacheKitError(.invalidKey, "too many namespaces (at most \(registry.limit))")
        }
        return namespace
    }

    var now: Double { clock() }

    /// What L1 holds at `address` now, fresh or not, without counting a lookup or touching its recency: for a
    /// caller checking that an entry it wrote is still the one there before it writes again.
    public func l1Entry(_ address: CacheAddress) -> CacheEntry? {
        l1.project(address.string, now: now, touching: false) { entry in (true, entry) }
    }

    // MARK: Reads

    /// Reads `address`: from L1, else L2, else `loader` (once, however many callers miss together). `nil` when
    /// nobody has it (no loader, or the loader found nothing). Throws only when the loader failed and no old value
    /// could stand in.
    ///
    /// A plain read (no loader) of a namespace that does not exist yet creates it only when it finds a value
    /// (another process wrote it): reads of made-up namespaces find nothing, so they never take one of the
    /// bounded places of namespaces.
    public func get(_ address: CacheAddress, loader: CacheLoader? = nil) async throws(CacheKitError) -> CacheLookup? {
        try await get(address, loader: loader, noting: nil)
    }

    /// ``get(_:loader:)`` without a loader, noting in `sequence` the invalidation sequence
    /// (``invalidationSequence()``) when the read went to L2 and one round trip could give both: a caller that goes
    /// to the origin after a miss need not ask for it on its own.
    public func get(_ address: CacheAddress, notingSequence sequence: SequenceNote) async throws(CacheKitError)
        -> CacheLookup?
    {
        try await get(address, loader: nil, noting: sequence)
    }

    /// Where a lookup leaves the invalidation sequence it read beside the entry (``get(_:notingSequence:)``).
    public final class SequenceNote {
        /// `nil` until a read of L2 noted it.
        public var value: UInt64?

        public init() {}
    }

    private func get(_ address: CacheAddress, loader: CacheLoader?, noting note: SequenceNote?)
        async throws(CacheKitError) -> CacheLookup?
    {
        if loader == nil, registry.existing(address.namespace) == nil {
            let standIn = registry.standIn(address.namespace)
            let lookup = try await get(address, namespace: standIn, loader: nil, noting: note)
            if lookup != nil, let kept = registry.namespace(address.namespace) { kept.absorb(standIn) }
            return lookup
        }
        return try await get(address, namespace: try self.namespace(address.namespace), loader: loader, noting: note)
    }

    /// What L1 holds under `address`, current and fresh, without going further (no L2, no loader): for a caller
    /// that must answer without waiting. The first time an entry is found here, `memo` makes what the caller wants of
    /// it (outside the shard's lock), and that is kept with the entry, its `cost` added to the entry's, and handed
    /// back with every later find until the entry is replaced or dropped. `nil` when L1 has nothing fresh there, or
    /// when `memo` made nothing (remembered too: it is not asked again for that entry). A find counts as an L1 hit;
    /// finding nothing counts nothing (the caller's full ``get(_:loader:)`` that follows counts the miss).
    public func peekL1<Memo: AnyObject & Sendable>(
        _ address: CacheAddress,
        memo make: (CacheEntry) -> Memo?,
        cost: (Memo) -> Int = { _ in 0 }
    ) -> Memo? {
        guard let namespace = registry.existing(address.namespace) else { return nil }
        return peekL1(address.string, in: namespace, memo: make, cost: cost)
    }

    /// ``peekL1(_:memo:cost:)`` of `namespace/key` as one string (``CacheAddress/string``), in a namespace the
    /// caller resolved once (``namespace(_:)``), for the hottest paths: the caller vouches that the address is in that
    /// namespace and valid.
    @inlinable
    public func peekL1<Memo: AnyObject & Sendable>(
        _ address: String,
        in namespace: CacheNamespace,
        memo make: (CacheEntry) -> Memo?,
        cost: (Memo) -> Int = { _ in 0 }
    ) -> Memo? {
        peekL1Object(
            address,
            in: namespace,
            memo: { make($0) },
            cost: { ($0 as? Memo).map(cost) ?? 0 }
        ) as? Memo
    }

    /// ``peekL1(_:in:now:memo:cost:)`` without the memo's type: a class, so that the caller's cast is a cheap one.
    @usableFromInline
    func peekL1Object(
        _ address: String,
        in namespace: CacheNamespace,
        memo make: (CacheEntry) -> (any AnyObject & Sendable)?,
        cost: (any AnyObject & Sendable) -> Int
    ) -> (any AnyObject & Sendable)? {
        guard namespace.policy.useL1 else { return nil }
        let now = self.now
        let started = NIODeadline.now().uptimeNanoseconds
        let versions = tagVersions
        // A hit hands back only the kept memo, one reference (no copy of the entry); an entry without one yet is
        // copied out by a second visit, once.
        var memo: (any AnyObject & Sendable)? = l1.project(address, now: now) { entry in
            guard Self.isCurrent(&entry, versions: versions) else { return (false, nil) }
            guard entry.isFresh(at: now) else { return (true, nil) }
            return (true, entry.memo ?? Unmade.shared)
        }
        if memo is Unmade {
            let read: CacheEntry? = l1.project(address, now: now, touching: false) { entry in
                (true, entry.memo == nil && entry.isFresh(at: now) ? entry : nil)
            }
            guard let entry = read else { return nil }
            // Made outside the lock (it may decode and decompress), then kept if the entry is still the one read.
            let made = make(entry)
            let kept: any AnyObject & Sendable = made ?? NoMemo.shared
            l1.attach(address, now: now, extraCost: made.map(cost) ?? 0) { live in
                guard live.memo == nil, live.version == entry.version, live.createdAt == entry.createdAt else {
                    return false
                }
                live.memo = kept
                return true
            }
            memo = kept
        }
        guard let memo, !(memo is NoMemo) else { return nil }
        l1Latency.record(nanoseconds: NIODeadline.now().uptimeNanoseconds &- started)
        CacheNamespace.count(namespace.lookups)
        CacheNamespace.count(namespace.l1Hits)
        return memo
    }

    /// What a peek finds under the shard's lock for an entry that has no memo yet.
    private final class Unmade: Sendable {
        static let shared = Unmade()
    }

    /// Kept with an entry whose memo could not be made, so it is not tried again.
    private final class NoMemo: Sendable {
        static let shared = NoMemo()
    }

    private func get(
        _ address: CacheAddress,
        namespace: CacheNamespace,
        loader: CacheLoader?,
        noting note: SequenceNote? = nil,
        again: Bool = false
    ) async throws(CacheKitError) -> CacheLookup? {
        let now = self.now
        if !again { CacheNamespace.count(namespace.lookups) }
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

        let readStart = coordination.withLock { $0.snapshot }
        var keyVersion: UInt64?
        if let l2, isL2Usable(now: now), !isPendingInvalidation(address.string) {
            CacheNamespace.count(namespace.l2Lookups)
            do {
                let started = ContinuousClock.now
                let record = try await l2.read(address.string, notingSequence: note != nil)
                l2Latency.record(ContinuousClock.now - started)
                markL2Healthy()
                keyVersion = record.keyVersion
                if let sequence = record.sequence { note?.value = sequence }
                if let entry = record.entry, entry.retainUntil > now, await isCurrentInL2(entry, at: address) {
                    if entry.isFresh(at: now) {
                        promote(entry, to: address, namespace: namespace, readStart: readStart)
                        CacheNamespace.count(namespace.l2Hits)
                        return CacheLookup(entry: entry, tier: .l2, state: .fresh)
                    }
                    if let loader, entry.isServableStale(at: now) {
                        promote(entry, to: address, namespace: namespace, readStart: readStart)
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

        guard let loader else {
            CacheNamespace.count(namespace.misses)
            if fallback != nil { CacheNamespace.count(namespace.expiredMisses) }
            return nil
        }
        // A load that ended while this read was at L2 has committed its value to L1: use it rather than load again
        // (under load, a slow L2 read would otherwise outlast the flight it should have joined).
        var flight: Flight
        var joined: Bool
        switch storedOrFlight(
            address,
            namespace: namespace,
            loader: loader,
            keyVersion: keyVersion,
            changedAfter: again ? nil : readStart
        ) {
        case .stored(let entry):
            CacheNamespace.count(namespace.l1Hits)
            return CacheLookup(entry: entry, tier: .l1, state: .fresh)
        case .flight(let running, let wasRunning):
            (flight, joined) = (running, wasRunning)
        case .changedSinceRead:
            return try await get(address, namespace: namespace, loader: loader, noting: note, again: true)
        }
        CacheNamespace.count(namespace.misses)
        if fallback != nil { CacheNamespace.count(namespace.expiredMisses) }
        var outcome: LoadOutcome?
        for attempt in 0..<2 {
            if let fallback, fallback.entry.isFailSafe(at: now) {
                outcome = await Self.value(of: flight, within: namespace.policy.softTimeout)
            } else {
                outcome = await flight.task.value
            }
            // A load this read joined rather than started may have read its data before an invalidation of one
            // of its tags that came before this read began: then load afresh (once).
            // (A committed value is safe for every joiner: its commit saw every invalidation learnt before they joined.)
            guard attempt == 0, joined, case .value(let entry, committed: false) = outcome,
                !tagsUnchanged(entry, since: flight.start.stamp)
            else { break }
            (flight, joined) = joinOrStartFlight(address, namespace: namespace, loader: loader, keyVersion: nil)
        }
        switch outcome {
        case .value(let entry, _):
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
        // Awaiting a task's value cannot be cancelled; waiting on the flight's outcome can, so the loser of the race
        // ends as soon as the winner is in.
        await withTaskGroup(of: LoadOutcome?.self) { group in
            group.addTask { await flight.outcome.wait() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    // MARK: Writes

    /// The deployment's invalidation sequence now, or `nil` without a reachable L2. A writer that reads its value
    /// from a source of its own notes it before the read and passes it to ``set(_:body:contentType:tags:ttl:readAt:)``,
    /// so a value read before an invalidation of one of its tags is not stored after it.
    public func invalidationSequence() async -> UInt64? {
        guard let l2, isL2Usable(now: now) else { return nil }
        do {
            let sequence = try await l2.currentSequence()
            markL2Healthy()
            return sequence
        } catch {
            markL2Failed(error)
            return nil
        }
    }

    /// What ``writeCheckingUnknownTags(_:at:readAt:)`` did.
    enum CheckedSet: Sendable {
        /// The usual way applies: learn the tags' versions, then write.
        case notTried
        /// A tag was invalidated after the data was read: the value is stored nowhere.
        case refused
        /// L2 holds the entry (`nil`: the write did not land), and whether L1 may too: not when one of its tags was
        /// heard invalidated meanwhile.
        case written(RedisL2Store.Written?, forL1: Bool)
    }

    /// ``set``'s write when this process has not met some of the entry's tags yet (a gateway's per-URL tag, on every
    /// first store of a URL), on a single Redis server, with the data's read noted (`readAt`). Rather than ask for
    /// those tags' versions and then write (two round trips), the entry is sealed with them as never invalidated
    /// (version 0) and the write script checks that in the same round trip
    /// (``RedisL2Store/write(_:at:now:checking:readAt:)``). A tag invalidated after all is learnt, and the caller
    /// goes the usual way.
    func writeCheckingUnknownTags(_ entry: inout CacheEntry, at address: String, readAt: UInt64?) async -> CheckedSet {
        guard let readAt, let l2, l2.redis.isSingleNode, isL2Usable(now: now), !isPendingInvalidation(address) else {
            return .notTried
        }
        var unknown: [String] = []
        var versions: [UInt64] = []
        for tag in entry.tags {
            if let state = tagVersions.state(of: tag) {
                // A state made up while Redis was down goes the usual way (which keeps such entries out of L2).
                guard let sequence = state.sequence else { return .notTried }
                if sequence > readAt { return .refused }
                versions.append(state.version)
            } else {
                guard !isPendingTag(tag) else { return .notTried }
                unknown.append(tag)
                versions.append(0)
            }
        }
        guard !unknown.isEmpty else { return .notTried }
        let clear = tagVersions.clearCount
        entry.tagVersions = versions
        entry.sequence = readAt
        let outcome: RedisL2Store.CheckedWrite
        do {
            outcome = try await l2.write(entry, at: address, now: now, checking: unknown, readAt: readAt)
            markL2Healthy()
        } catch {
            markL2Failed(error)
            return .notTried
        }
        switch outcome {
        case .tagChanged(let tag, let state):
            tagVersions.merge(tag, version: state.version, sequence: state.sequence, fetchedAfterClear: clear)
            return .notTried
        case .invalidatedAfterRead(let tag, let state):
            tagVersions.merge(tag, version: state.version, sequence: state.sequence, fetchedAfterClear: clear)
            return .refused
        case .written(let written):
            for tag in unknown { tagVersions.merge(tag, version: 0, sequence: 0, fetchedAfterClear: clear) }
            // The stamps of the versions sealed. An invalidation heard since (or a clear) leaves the entry out of L1;
            // L2 holds it under versions every reader refuses.
            guard let states = tagVersions.states(of: entry.tags),
                zip(states, versions).allSatisfy({ !$0.isOffline && $0.version == $1 })
            else { return .written(written, forL1: false) }
            entry.tagStamps = states.map(\.stamp)
            return .written(written, forL1: true)
        }
    }

    /// Stores a value under `address` in both tiers (L2 first) and tells the other processes to drop their copies.
    /// Returns the tiers that hold it: none when `readAt` (the ``invalidationSequence()`` noted before the value was
    /// read) shows one of its tags was invalidated since.
    @discardableResult
    public func set(
        _ address: CacheAddress,
        body: ByteBuffer,
        contentType: String,
        tags: [String] = [],
        ttl: Double? = nil,
        readAt: UInt64? = nil
    ) async throws(CacheKitError) -> [CacheTier] {
        let namespace = try self.namespace(address.namespace)
        var entry = makeEntry(
            CacheLoad(body: body, contentType: contentType, tags: tags, ttl: ttl),
            namespace: namespace,
            now: now
        )
        var written: RedisL2Store.Written?
        var forL1 = true
        switch await writeCheckingUnknownTags(&entry, at: address.string, readAt: readAt) {
        case .refused:
            return []
        case .written(let done, let current):
            (written, forL1) = (done, current)
        case .notTried:
            await learnVersions(of: entry.tags)
            var learnt = tagVersions.states(of: entry.tags)
            if learnt == nil {
                // Cleared meanwhile (the backplane (re)subscribed: what was known may be stale): learn them again.
                await learnVersions(of: entry.tags)
                learnt = tagVersions.states(of: entry.tags)
            }
            guard let states = learnt else { return [] }
            if let readAt, !states.allSatisfy({ ($0.sequence ?? .max) <= readAt }) { return [] }
            entry.tagVersions = states.map(\.version)
            entry.tagStamps = states.map(\.stamp)
            // A tag invalidated while Redis was down has a made-up version: such an entry stays out of L2.
            if let l2, isL2Usable(now: now), !states.contains(where: \.isOffline),
                !isPendingInvalidation(address.string)
            {
                do {
                    if let readAt { entry.sequence = readAt } else { entry.sequence = try await l2.currentSequence() }
                    written = try await l2.write(entry, at: address.string, expectedKeyVersion: nil, now: now)
                    markL2Healthy()
                } catch {
                    markL2Failed(error)
                }
            }
        }
        CacheNamespace.count(namespace.writes)
        CacheNamespace.count(namespace.bytesWritten, by: body.readableBytes)
        var tiers: [CacheTier] = []
        if let written, let l2 {
            entry.version = written.version
            tiers.append(.l2)
            // Other processes drop older copies; this version stays. A key written for the first time has no older
            // copy anywhere (every copy comes from L2 or from a write, which leaves a version; one set while Redis was
            // down is kept only briefly), so a miss one gateway stores wakes no other.
            if written.replacedEarlier {
                let message = BackplaneMessage(
                    origin: origin,
                    keys: [address.string: written.version],
                    tags: [:],
                    prefixes: []
                )
                do {
                    try await l2.publish(message.encoded())
                } catch {
                    markL2Failed(error)
                }
            }
        }
        guard forL1 else { return tiers }
        guard namespace.policy.useL1 else { return tiers }
        let online = tiers.contains(.l2)
        let stored = coordination.withLock { state -> Bool in
            if online {
                // An invalidation or a newer set of the key may have landed since the write: then this value is
                // no longer the latest, and stays out of L1.
                guard entry.version >= state.floor(of: address.string) else { return false }
                state.raiseFloor(of: address.string, to: entry.version)
            } else {
                // Without L2 the version is made up here: marked, so no version from L2 compares with it (and, when
                // L2 is down rather than absent, kept briefly).
                state.nextTicket += 1
                entry.version = Self.localVersion | state.nextTicket
            }
            // An online set replaces a value set here while L2 was down (its made-up version is higher).
            return storeInL1(entry, at: address, briefly: l2 != nil && !online, replacingLocal: online)
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

    /// Puts `entry` (with its tags' stamps) in L1 unless a newer version is there; `briefly` caps its stay at
    /// ``Configuration/outageL1TTL`` (as does a backplane outage). Call with the coordination lock held.
    func storeInL1(_ entry: CacheEntry, at address: CacheAddress, briefly: Bool = false, replacingLocal: Bool = false)
        -> Bool
    {
        let now = self.now
        var entry = entry
        entry.checkedEpoch = 0
        let capped = briefly || !backplaneLive.load(ordering: .acquiring)
        let retainUntil = capped ? min(entry.retainUntil, now + configuration.outageL1TTL) : entry.retainUntil
        let version = entry.version
        return l1.set(address.string, entry, cost: entry.cost, retainUntil: retainUntil, now: now) { existing in
            existing.version <= version || (replacingLocal && existing.version & Self.localVersion != 0)
        }
    }

    /// Copies an entry read from L2 into L1, unless the key changed since the read began (its floor rose past the
    /// entry's version, a matching prefix was invalidated, L1 was cleared) or one of its tags moved on.
    func promote(_ entry: CacheEntry, to address: CacheAddress, namespace: CacheNamespace, readStart: Flight.Start) {
        guard namespace.policy.useL1 else { return }
        coordination.withLock { state in
            guard state.admits(address.string, version: entry.version, since: readStart),
                !isPendingInvalidation(address.string),
                tagVersions.matches(tags: entry.tags, versions: entry.tagVersions),
                let states = tagVersions.states(of: entry.tags)
            else { return }
            var promoted = entry
            promoted.tagStamps = states.map(\.stamp)
            _ = storeInL1(promoted, at: address)
        }
    }

    /// The L1 check of an entry's tags: their stamps unchanged since it was stored, skipped while nothing changed
    /// since it was last checked.
    var isCurrentInL1: @Sendable (inout CacheEntry) -> Bool {
        let versions = tagVersions
        return { entry in Self.isCurrent(&entry, versions: versions) }
    }

    /// ``isCurrentInL1`` without a closure.
    static func isCurrent(_ entry: inout CacheEntry, versions: TagVersions) -> Bool {
        guard !entry.tags.isEmpty else { return true }
        let epoch = versions.epoch
        if entry.checkedEpoch == epoch { return true }
        guard versions.matches(tags: entry.tags, stamps: entry.tagStamps) else { return false }
        entry.checkedEpoch = epoch
        return true
    }

    /// Whether an entry read from L2 still carries the current version of each of its tags, and no prefix
    /// invalidation covering it came after its data was read.
    func isCurrentInL2(_ entry: CacheEntry, at address: CacheAddress) async -> Bool {
        if sharedPrefixes.withLock({ $0.invalidates(address.string, after: entry.sequence) }) { return false }
        guard !entry.tags.isEmpty else { return true }
        // A tag this process invalidated while Redis was down: L2 has not heard of it yet.
        if entry.tags.contains(where: isPendingTag) { return false }
        await learnVersions(of: entry.tags)
        return tagVersions.matches(tags: entry.tags, versions: entry.tagVersions)
    }

    /// Whether none of `entry`'s tags changed here after `stamp`.
    func tagsUnchanged(_ entry: CacheEntry, since stamp: UInt64) -> Bool {
        guard let states = tagVersions.states(of: entry.tags) else { return entry.tags.isEmpty }
        return states.allSatisfy { $0.stamp <= stamp }
    }

    /// Makes sure this process knows every tag in `tags`, asking L2 for those it does not know (or only made up
    /// while L2 was unreachable). Without L2 they are made up here as offline states: usable in L1, never compared
    /// with L2's versions. A tag this process invalidated while Redis was down stays offline until the replay.
    func learnVersions(of tags: [String]) async {
        for tag in tags where isPendingTag(tag) && tagVersions.state(of: tag) == nil { tagVersions.bumpOffline(tag) }
        let wanted = tagVersions.toFetch(tags, isPending: isPendingTag)
        guard !wanted.isEmpty else { return }
        if let l2, isL2Usable(now: now) {
            let clear = tagVersions.clearCount
            do {
                for (tag, state) in try await l2.versions(of: wanted) {
                    tagVersions.merge(tag, version: state.version, sequence: state.sequence, fetchedAfterClear: clear)
                }
                return
            } catch {
                markL2Failed(error)
            }
        }
        for tag in wanted where tagVersions.state(of: tag) == nil { tagVersions.learnOffline(tag) }
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

    /// Whether the cache was given an L2 at all (a cache on L1 alone is so by configuration, not by an outage).
    public var hasL2: Bool { l2 != nil }

    /// Whether this process hears every invalidation (always true without a backplane).
    public var isBackplaneLive: Bool { backplaneLive.load(ordering: .acquiring) }

    /// How many times the backplane subscription has started: one more after each drop and resubscription, once
    /// local state was cleared.
    public var backplaneSessions: Int { backplaneSessionCount.load(ordering: .acquiring) }

    /// Whether `error` means L2 is unreachable (as opposed to a cancelled call or a bad record).
    static func isOutage(_ error: any Error) -> Bool {
        guard let error = error as? RedisError else { return false }
        return error.isConnectionFailure || error.code == .poolTimeout || error.replyKind == "CLUSTERDOWN"
    }

    func markL2Failed(_ error: any Error) {
        guard Self.isOutage(error) else { return }
        let retryAt = Int64((now + Double(configuration.l2RetryInterval / .milliseconds(1)) / 1000) * 1000)
        if l2DownUntil.exchange(retryAt, ordering: .relaxed) == 0 {
            logger.warning(
                "cache L2 unavailable: serving from L1 and the loader",
                metadata: ["cache.error": "\(error)"]
            )
        }
    }

    func markL2Healthy() {
        if l2DownUntil.exchange(0, ordering: .relaxed) != 0 {
            logger.notice("cache L2 is back")
            // Invalidations made while it was unreachable go out now (also after a backplane reconnect, if the
            // outage was long enough to drop the subscription).
            backgroundContinuation.yield(BackgroundJob(address: nil) { [self] in await replayPending() })
        }
    }
}
