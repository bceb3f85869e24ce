import Logging
import NIOCore
import Synchronization
import Testing
import WedSyncCacheKit
import WedSyncModels
import WedSyncTestSupport

/// A clock tests move by hand.
final class ManualClock: Sendable {
    private let seconds = Mutex<Double>(1_000)
    var now: Double { seconds.withLock { $0 } }
    func advance(_ delta: Double) { seconds.withLock { $0 += delta } }
}

/// Counts loader calls and hands out numbered values.
final class CountingLoader: Sendable {
    private let calls = Atomic<Int>(0)
    var count: Int { calls.load(ordering: .relaxed) }

    /// A loader that waits `delay`, and first for `gate` to open when one is given.
    func load(tags: [String] = [], delay: Duration = .zero, gate: AsyncGate? = nil) -> CacheLoader {
        { [self] in
            let call = calls.add(1, ordering: .relaxed).newValue
            if let gate { await gate.wait() }
            if delay > .zero { try await Task.sleep(for: delay) }
            return CacheLoad(body: ByteBuffer(string: "v\(call)"), contentType: "text/plain", tags: tags)
        }
    }
}

/// Runs the cache's background work (refreshes, sweep) while `body` runs.
func withRunning<Result: Sendable>(_ cache: MultiTierCache, _ body: () async throws -> Result) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await cache.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}

func makeCache(policy: NamespacePolicy, clock: ManualClock) -> MultiTierCache {
    MultiTierCache(
        configuration: .init(defaultPolicy: policy, ttlJitter: 0, clock: { clock.now }),
        logger: Logger(label: "test")
    )
}

@Suite("Multi-tier cache logic (L1 and loader, no Redis)", .timeLimit(.minutes(1)))
struct MultiTierCacheTests {
    let address = try! CacheAddress(namespace: "schedules", key: "2026-06-13")

    @Test("1,000 concurrent misses of one key run the loader once")
    func singleFlight() async throws {
        let clock = ManualClock()
        let cache = makeCache(policy: NamespacePolicy(ttl: 60), clock: clock)
        let loader = CountingLoader()
        let load = loader.load(delay: .milliseconds(100))
        let values = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<1_000 { group.addTask { try await cache.get(address, loader: load)?.text } }
            return try await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(loader.count == 1)
        #expect(values.count == 1_000)
        #expect(values.allSatisfy { $0 == "v1" })
        #expect(try await cache.get(address)?.tier == .l1)
    }

    @Test("An expired entry is served stale while one background refresh runs")
    func staleWhileRevalidate() async throws {
        let clock = ManualClock()
        let cache = makeCache(
            policy: NamespacePolicy(ttl: 10, staleWhileRevalidate: 30, failSafe: 0, eagerRefreshShare: 0),
            clock: clock
        )
        let loader = CountingLoader()
        // The refresh cannot finish before the gate opens, after the second stale read: both reads are served stale
        // during it, however the machine schedules the refresh.
        let refresh = AsyncGate()
        let load = loader.load(gate: refresh)
        try await withRunning(cache) {
            #expect(try await cache.get(address, loader: loader.load())?.text == "v1")
            clock.advance(15)
            let stale = try await cache.get(address, loader: load)
            #expect(stale?.state == .stale)
            #expect(stale?.text == "v1")
            // More stale reads during the refresh do not start more loads.
            #expect(try await cache.get(address, loader: load)?.state == .stale)
            refresh.open()
            #expect(await eventuallyTrue { (try? await cache.get(address))?.text == "v2" })
            #expect(loader.count == 2)
            clock.advance(100)
            #expect(try await cache.get(address) == nil, "past the stale window nothing is served without a loader")
        }
        #expect(cache.statistics().staleServed >= 2)
    }

    @Test("When the loader fails, the last good value is served (fail-safe) and the failure counted")
    func failSafe() async throws {
        let clock = ManualClock()
        let cache = makeCache(
            policy: NamespacePolicy(ttl: 10, staleWhileRevalidate: 0, failSafe: 100, eagerRefreshShare: 0),
            clock: clock
        )
        #expect(try await cache.get(address, loader: CountingLoader().load())?.text == "v1")
        clock.advance(20)
        struct Down: Error {}
        let lookup = try await cache.get(address) { throw Down() }
        #expect(lookup?.state == .failSafe)
        #expect(lookup?.text == "v1")
        let statistics = cache.statistics()
        #expect(statistics.failSafeServed == 1)
        #expect(statistics.loadFailures == 1)
        clock.advance(200)
        await #expect(throws: CacheKitError.self) { try await cache.get(address) { throw Down() } }
    }

    @Test("A loader slower than the soft timeout is not waited for when an old value exists; it lands later")
    func softTimeout() async throws {
        let clock = ManualClock()
        let policy = NamespacePolicy(
            ttl: 10,
            staleWhileRevalidate: 0,
            failSafe: 100,
            softTimeout: .milliseconds(50),
            eagerRefreshShare: 0
        )
        let cache = makeCache(policy: policy, clock: clock)
        #expect(try await cache.get(address, loader: CountingLoader().load())?.text == "v1")
        clock.advance(20)
        // The loader cannot finish before the read returns: a read that waited for it would never return.
        let gate = AsyncGate()
        let slow: CacheLoader = {
            await gate.wait()
            return CacheLoad(body: ByteBuffer(string: "v2"), contentType: "text/plain")
        }
        let lookup = try await cache.get(address, loader: slow)
        #expect(lookup?.state == .failSafe)
        #expect(lookup?.text == "v1")
        gate.open()
        #expect(await eventuallyTrue { (try? await cache.get(address))?.text == "v2" })
    }

    @Test("Negative caching remembers an absence for its TTL")
    func negativeCaching() async throws {
        let clock = ManualClock()
        let cache = makeCache(policy: NamespacePolicy(ttl: 10, negativeTTL: 5), clock: clock)
        let calls = Atomic<Int>(0)
        let absent: CacheLoader = {
            calls.add(1, ordering: .relaxed)
            return nil
        }
        #expect(try await cache.get(address, loader: absent)?.isNegative == true)
        #expect(try await cache.get(address, loader: absent)?.isNegative == true)
        #expect(calls.load(ordering: .relaxed) == 1)
        clock.advance(6)
        _ = try await cache.get(address, loader: absent)
        #expect(calls.load(ordering: .relaxed) == 2)
    }

    @Test("Without negative caching, an absence is not stored")
    func noNegativeCaching() async throws {
        let cache = makeCache(policy: NamespacePolicy(ttl: 10), clock: ManualClock())
        let calls = Atomic<Int>(0)
        let absent: CacheLoader = {
            calls.add(1, ordering: .relaxed)
            return nil
        }
        #expect(try await cache.get(address, loader: absent) == nil)
        #expect(try await cache.get(address, loader: absent) == nil)
        #expect(calls.load(ordering: .relaxed) == 2)
    }

    @Test("A hot entry read near the end of its TTL is refreshed before it expires")
    func eagerRefresh() async throws {
        let clock = ManualClock()
        let cache = makeCache(
            policy: NamespacePolicy(ttl: 10, staleWhileRevalidate: 0, failSafe: 0, eagerRefreshShare: 0.2),
            clock: clock
        )
        let loader = CountingLoader()
        try await withRunning(cache) {
            _ = try await cache.get(address, loader: loader.load())
            clock.advance(5)
            #expect(try await cache.get(address, loader: loader.load())?.text == "v1")
            #expect(loader.count == 1, "mid-life reads do not refresh")
            clock.advance(4)
            let lookup = try await cache.get(address, loader: loader.load())
            #expect(lookup?.state == .fresh)
            #expect(await eventuallyTrue { (try? await cache.get(address))?.text == "v2" })
            clock.advance(3)
            #expect(try await cache.get(address)?.text == "v2", "the refreshed entry is fresh past the old expiry")
        }
    }

    @Test("Invalidating a tag, a key or a prefix makes the entries unreadable at once")
    func invalidation() async throws {
        let cache = makeCache(policy: NamespacePolicy(ttl: 60), clock: ManualClock())
        let other = try CacheAddress(namespace: "schedules", key: "2026-06-14")
        let unrelated = try CacheAddress(namespace: "clients", key: "42")
        try await cache.set(
            address,
            body: ByteBuffer(string: "a"),
            contentType: "text/plain",
            tags: ["day:13", "org:1"]
        )
        try await cache.set(other, body: ByteBuffer(string: "b"), contentType: "text/plain", tags: ["day:14", "org:1"])
        try await cache.set(unrelated, body: ByteBuffer(string: "c"), contentType: "text/plain", tags: ["org:2"])

        await cache.invalidate(InvalidationRequest(tags: ["day:13"]))
        #expect(try await cache.get(address) == nil)
        #expect(try await cache.get(other)?.text == "b")

        await cache.invalidate(InvalidationRequest(tags: ["org:1"]))
        #expect(try await cache.get(other) == nil)
        #expect(try await cache.get(unrelated)?.text == "c")

        try await cache.set(address, body: ByteBuffer(string: "a2"), contentType: "text/plain", tags: ["org:1"])
        #expect(try await cache.get(address)?.text == "a2", "an entry written after the invalidation is readable")
        await cache.invalidate(InvalidationRequest(keys: [address.string]))
        #expect(try await cache.get(address) == nil)

        await cache.invalidate(InvalidationRequest(prefixes: ["clients/"]))
        #expect(try await cache.get(unrelated) == nil)
    }

    @Test("A load that began before an invalidation is returned to its caller but never stored")
    func loadRacingInvalidation() async throws {
        let cache = makeCache(policy: NamespacePolicy(ttl: 60), clock: ManualClock())
        let gate = AsyncGate()
        let loader: CacheLoader = {
            await gate.wait()
            return CacheLoad(body: ByteBuffer(string: "old"), tags: ["day:13"])
        }
        try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask { try await cache.get(address, loader: loader)?.text }
            #expect(await eventuallyTrue { cache.statistics().loads == 1 })
            await cache.invalidate(InvalidationRequest(keys: [address.string]))
            gate.open()
            let first = try await group.next()
            #expect(first == "old")
        }
        #expect(try await cache.get(address) == nil, "the value loaded before the invalidation was not kept")
        let fresh = try await cache.get(address) { CacheLoad(body: ByteBuffer(string: "new")) }
        #expect(fresh?.text == "new")
    }

    @Test("Bad addresses are refused")
    func addresses() throws {
        #expect(throws: CacheKitError.self) { try CacheAddress(namespace: "", key: "k") }
        #expect(throws: CacheKitError.self) { try CacheAddress(namespace: "a/b", key: "k") }
        #expect(throws: CacheKitError.self) { try CacheAddress(namespace: "a", key: "") }
        #expect(throws: CacheKitError.self) { try CacheAddress(namespace: "a", key: "new\nline") }
        #expect(throws: CacheKitError.self) {
            try CacheAddress(namespace: "a", key: String(repeating: "k", count: 2_000))
        }
        #expect(try CacheAddress("schedules/2026/06").key == "2026/06")
    }
}

/// Opens once; every waiter (before or after) goes on.
final class AsyncGate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Polls `condition` every 10 ms for up to 15 s (a condition that holds costs no more than its first poll).
func eventuallyTrue(_ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(15)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}

@Suite("Cache configuration and TTLs")
struct CacheTTLTests {
    @Test(
        "Default TTLs get up to the configured jitter, shorter never longer; an explicit TTL is kept, capped at the namespace's maximum"
    )
    func jitter() async throws {
        let clock = ManualClock()
        let cache = MultiTierCache(
            configuration: .init(
                defaultPolicy: NamespacePolicy(ttl: 100, maximumTTL: 500),
                ttlJitter: 0.2,
                clock: { clock.now }
            ),
            logger: Logger(label: "test")
        )
        var ttls: [Double] = []
        for index in 0..<200 {
            let address = try CacheAddress(namespace: "jitter", key: "k\(index)")
            try await cache.set(address, body: ByteBuffer(string: "v"), contentType: "text/plain")
            ttls.append(try #require(try await cache.get(address)).entry.ttl)
        }
        #expect(ttls.allSatisfy { $0 > 80 && $0 <= 100 })
        #expect(Set(ttls.map { Int($0) }).count > 10, "spread, so entries written together do not expire together")
        let explicit = try CacheAddress(namespace: "jitter", key: "explicit")
        try await cache.set(explicit, body: ByteBuffer(string: "v"), contentType: "text/plain", ttl: 42)
        #expect(try await cache.get(explicit)?.entry.ttl == 42)
        try await cache.set(explicit, body: ByteBuffer(string: "v"), contentType: "text/plain", ttl: 10_000)
        #expect(try await cache.get(explicit)?.entry.ttl == 500)
    }

    @Test("Namespaces get their own TTLs")
    func namespaceTTLs() async throws {
        let cache = MultiTierCache(
            configuration: .init(
                namespaces: ["schedules": NamespacePolicy(ttl: 600)],
                defaultPolicy: NamespacePolicy(ttl: 30),
                ttlJitter: 0
            ),
            logger: Logger(label: "test")
        )
        #expect(try cache.namespace("schedules").policy.ttl == 600)
        #expect(try cache.namespace("clients").policy.ttl == 30)
        let address = try CacheAddress(namespace: "schedules", key: "d")
        try await cache.set(address, body: ByteBuffer(string: "v"), contentType: "text/plain")
        #expect(try await cache.get(address)?.entry.ttl == 600)
    }

    @Test("The number of namespaces is bounded")
    func namespaceLimit() throws {
        let cache = MultiTierCache(configuration: .init(maximumNamespaces: 3), logger: Logger(label: "test"))
        for name in ["a", "b", "c"] { _ = try cache.namespace(name) }
        #expect(throws: CacheKitError.self) { try cache.namespace("d") }
        #expect(try cache.namespace("a").name == "a")
    }

    @Test("Reads never create namespaces: made-up names cannot use up the bound")
    func readsCreateNoNamespace() async throws {
        let cache = MultiTierCache(
            configuration: .init(maximumNamespaces: 3, ttlJitter: 0),
            logger: Logger(label: "test")
        )
        for index in 0..<1_024 {
            #expect(try await cache.get(try CacheAddress(namespace: "made-up-\(index)", key: "k")) == nil)
        }
        #expect(cache.statistics().namespaces.isEmpty)
        for name in ["a", "b", "c"] {
            let tiers = try await cache.set(
                try CacheAddress(namespace: name, key: "k"),
                body: ByteBuffer(string: "v"),
                contentType: "text/plain"
            )
            #expect(tiers == [.l1])
        }
        #expect(cache.statistics().namespaces.map(\.namespace) == ["a", "b", "c"])
    }
}
