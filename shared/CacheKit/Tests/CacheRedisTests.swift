import Crypto
import Foundation
import Logging
import NIOCore
import Synchronization
import Testing
import WedSyncCacheKit
import WedSyncConnectionPool
import WedSyncModels
import WedSyncRedis
import WedSyncTestSupport

@Suite("Multi-tier cache on a real Redis", .serialized, .timeLimit(.minutes(3)))
struct CacheRedisTests {
    @Test("A value set in one process is read from L2 by another, then from its L1")
    func sharedL2() async throws {
        let (a, b) = try await RedisBackedCache.pair(url: try TestEnvironment.redisURL())
        let address = try CacheAddress(namespace: uniqueNamespace("shared"), key: "2026-06-13")
        // A full run's load has stalled one Redis command past its timeout (the tier then sits out a moment): the
        // set is made again until both tiers hold it, and the other process asks until L2 answers.
        #expect(
            await eventually(timeout: .seconds(15)) {
                (try? await a.cache.set(
                    address,
                    body: ByteBuffer(string: "schedule"),
                    contentType: "application/json",
                    tags: ["day"]
                )) == [.l1, .l2]
            }
        )
        var first: CacheLookup?
        #expect(
            await eventually(timeout: .seconds(15)) {
                first = try? await b.cache.get(address)
                return first != nil
            }
        )
        #expect(first?.tier == .l2)
        #expect(first?.text == "schedule")
        #expect(first?.entry.contentType == "application/json")
        #expect(try await b.cache.get(address)?.tier == .l1)
        await a.stop()
        await b.stop()
    }

    /// How long the test waits for an invalidation to reach the other process. It arrives within milliseconds
    /// (printed here; measured idle by `scripts/bench`, in docs/benchmarks.md), but the whole suite's load has
    /// stalled the other process's subscriber past a second, so the test asserts that it arrives, not how fast: one
    /// that never arrives still fails, as the entry would stay for its TTL of a minute.
    static let bound = Duration.seconds(15)

    @Test("A tag invalidated in one process becomes unreadable in another, in L1 and L2, and stays so")
    func crossProcessTagInvalidation() async throws {
        let (a, b) = try await RedisBackedCache.pair(url: try TestEnvironment.redisURL())
        let namespace = uniqueNamespace("tags")
        var worst = Duration.zero
        for round in 0..<20 {
            let address = try CacheAddress(namespace: namespace, key: "k\(round)")
            let tag = "\(namespace):client:\(round)"
            // A full run's load can stall a Redis command past its timeout (the tier then sits out a moment): the
            // set is made again until both tiers hold it, and b reads until its L1 does.
            #expect(
                await eventually(timeout: Self.bound) {
                    (try? await a.cache.set(
                        address,
                        body: ByteBuffer(string: "v"),
                        contentType: "text/plain",
                        tags: [tag, "\(namespace):org"]
                    )) == [.l1, .l2]
                }
            )
            #expect(
                await eventually(timeout: Self.bound) { (try? await b.cache.get(address))?.tier == .l1 },
                "b holds it in L1 before the invalidation"
            )
            let result = await a.cache.invalidate(InvalidationRequest(tags: [tag]))
            #expect(result.propagated)
            let acknowledged = ContinuousClock.now
            #expect(
                try await a.cache.get(address) == nil,
                "the invalidating process never reads it after the acknowledgement"
            )
            // Reads are timed by their start, so a slow read cannot inflate the figure.
            var firstMiss: Duration?
            while firstMiss == nil, ContinuousClock.now - acknowledged < Self.bound {
                let started = ContinuousClock.now
                if try await b.cache.get(address) == nil { firstMiss = started - acknowledged }
            }
            #expect(
                firstMiss != nil,
                "still readable in the other process \(Self.bound) after the acknowledgement (round \(round))"
            )
            for _ in 0..<3 {
                #expect(try await b.cache.get(address) == nil, "readable again after it was gone (round \(round))")
            }
            worst = max(worst, firstMiss ?? Self.bound)
        }
        print("cache: tag invalidation reached the other process within \(worst) (worst of 20)")
        await a.stop()
        await b.stop()
    }

    @Test("Invalidation by key and by prefix reaches L2 and the other process")
    func keysAndPrefixes() async throws {
        let (a, b) = try await RedisBackedCache.pair(url: try TestEnvironment.redisURL())
        let namespace = uniqueNamespace("prefix")
        let june = try (1...5).map { try CacheAddress(namespace: namespace, key: "2026-06-0\($0)") }
        let july = try CacheAddress(namespace: namespace, key: "2026-07-01")
        for address in june + [july] {
            try await a.cache.set(address, body: ByteBuffer(string: address.key), contentType: "text/plain")
            _ = try await b.cache.get(address)
        }
        let result = await a.cache.invalidate(InvalidationRequest(prefixes: ["\(namespace)/2026-06"]))
        #expect(result.invalidatedPrefixes == 1 && result.propagated)
        // Unreadable here from the answer on; L2's records are deleted by the background sweep, off the request (a
        // SCAN of the whole keyspace: on a Redis other tests share, it may take a while).
        for address in june { #expect(try await a.cache.get(address) == nil) }
        #expect(
            await eventually(timeout: .seconds(120)) {
                var left = 0
                for address in june {
                    left += (try? await a.redis.send("EXISTS", RedisArgument("wsc:{\(address.string)}:m")).int) ?? 1
                }
                return left == 0
            }
        )
        // Whichever process swept them counts them (the other may have, on the Redis they share).
        #expect(a.cache.statistics().sweptByPrefix + b.cache.statistics().sweptByPrefix >= 5)
        #expect(await eventually(timeout: Self.bound) { (try? await b.cache.get(june[0])) == nil })
        for address in june { #expect(try await b.cache.get(address) == nil) }
        #expect(try await b.cache.get(july)?.text == "2026-07-01")
        await a.cache.invalidate(InvalidationRequest(keys: [july.string]))
        #expect(await eventually(timeout: Self.bound) { (try? await b.cache.get(july)) == nil })
        #expect(try await a.redis.send("EXISTS", RedisArgument("wsc:{\(july.string)}:m")).int == 0)
        await a.stop()
        await b.stop()
    }

    @Test("A key's first write tells no other process (none holds a copy); a rewrite drops their older copies")
    func firstWriteIsQuiet() async throws {
        let url = try TestEnvironment.redisURL()
        let (a, b) = try await RedisBackedCache.pair(url: url)
        let namespace = uniqueNamespace("quiet")
        let store = RedisL2Store(redis: a.redis)
        let now = Date().timeIntervalSince1970
        let entry = CacheEntry(body: ByteBuffer(string: "v"), contentType: "text/plain", createdAt: now, ttl: 60)
        let direct = "\(namespace)/direct"
        #expect(try await store.write(entry, at: direct, expectedKeyVersion: nil, now: now)?.replacedEarlier == false)
        #expect(try await store.write(entry, at: direct, expectedKeyVersion: nil, now: now)?.replacedEarlier == true)
        try await store.invalidate(addresses: [direct])
        #expect(try await store.write(entry, at: direct, expectedKeyVersion: nil, now: now)?.replacedEarlier == true)

        let fresh = try CacheAddress(namespace: namespace, key: "fresh")
        let rewritten = try CacheAddress(namespace: namespace, key: "rewritten")
        #expect(
            try await a.cache.set(rewritten, body: ByteBuffer(string: "v1"), contentType: "text/plain") == [.l1, .l2]
        )
        #expect(await eventually(timeout: Self.bound) { (try? await b.cache.get(rewritten))?.text == "v1" })
        #expect(try await b.cache.get(rewritten)?.tier == .l1)
        let subscriber = RedisSubscriber(
            configuration: try RedisConfiguration(url: url),
            channels: [RedisL2Store.channel],
            logger: Logger(label: "test")
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await subscriber.run() }
            var events = subscriber.events.makeAsyncIterator()
            #expect(await events.next() == .subscribed)
            let tiers = [
                try await a.cache.set(fresh, body: ByteBuffer(string: "new"), contentType: "text/plain"),
                try await a.cache.set(rewritten, body: ByteBuffer(string: "v2"), contentType: "text/plain"),
            ]
            #expect(tiers == [[.l1, .l2], [.l1, .l2]])
            // Messages of other suites' caches may come between; the rewrite's comes, and none about the fresh key
            // before it.
            while let event = await events.next() {
                guard case .message(_, _, let payload) = event else { continue }
                let text = String(decoding: payload, as: UTF8.self)
                #expect(!text.contains(fresh.string))
                if text.contains(rewritten.string) { break }
            }
            group.cancelAll()
        }
        // The other process dropped its older copy.
        #expect(await eventually(timeout: Self.bound) { (try? await b.cache.get(rewritten))?.text == "v2" })
        #expect(try await b.cache.get(fresh)?.text == "new")
        await a.stop()
        await b.stop()
    }

    @Test("A lookup that reads L2 notes the invalidation sequence in the same round trip; an L1 hit notes none")
    func lookupNotesTheSequence() async throws {
        let (a, b) = try await RedisBackedCache.pair(url: try TestEnvironment.redisURL())
        let namespace = uniqueNamespace("noted")
        let store = RedisL2Store(redis: a.redis)
        await a.cache.invalidate(InvalidationRequest(tags: ["noted-\(namespace)"]))
        let missing = MultiTierCache.SequenceNote()
        #expect(
            try await a.cache.get(CacheAddress(namespace: namespace, key: "absent"), notingSequence: missing) == nil
        )
        let afterMiss = try await store.currentSequence()
        #expect(missing.value != nil && missing.value! <= afterMiss && missing.value! > 0)
        // Another invalidation moves it on: a later lookup notes the later sequence.
        await b.cache.invalidate(InvalidationRequest(tags: ["noted-again-\(namespace)"]))
        let later = MultiTierCache.SequenceNote()
        _ = try await a.cache.get(CacheAddress(namespace: namespace, key: "absent"), notingSequence: later)
        #expect(later.value! > missing.value!)
        let address = try CacheAddress(namespace: namespace, key: "held")
        _ = try await a.cache.set(address, body: ByteBuffer(string: "v"), contentType: "text/plain")
        let hit = MultiTierCache.SequenceNote()
        #expect(try await a.cache.get(address, notingSequence: hit)?.tier == .l1)
        #expect(hit.value == nil)
        await a.stop()
        await b.stop()
    }

    @Test(
        "A store with a tag this process never met takes one round trip; a tag invalidated earlier is learnt and sealed at its version; one invalidated after the read refuses the store"
    )
    func storeInOneRoundTrip() async throws {
        let url = try TestEnvironment.redisURL()
        let client = RedisClient(
            configuration: try RedisConfiguration(url: url),
            poolConfiguration: .init(minimumConnections: 0, maximumConnections: 4),
            logger: Logger(label: "test")
        )
        let counting = CountingRedis(client)
        let store = RedisL2Store(redis: counting)
        let cache = MultiTierCache(
            configuration: .init(defaultPolicy: NamespacePolicy(ttl: 60), ttlJitter: 0),
            l2: store,
            logger: Logger(label: "test")
        )
        // Another process: it invalidates, and reads what L2 holds.
        let other = try RedisBackedCache(url: url)
        try await other.ready()
        let namespace = uniqueNamespace("onetrip")

        /// Sets `key` with the data read at the sequence of now, tagged with `tag(attempt)`, until a set gets an
        /// answer from Redis (a full run's load can stall a command past its timeout; a retry then starts from a tag of
        /// its own, one this process never met): its tiers, its round trips and the tag. `beforeRead` runs before the
        /// sequence is read, `afterRead` after it.
        func storeNow(
            _ key: String,
            tag: (Int) -> String,
            beforeRead: (String) async -> Void = { _ in },
            afterRead: (String) async -> Void = { _ in }
        ) async throws -> (tiers: [CacheTier], trips: Int, tag: String) {
            var outcome: ([CacheTier], Int, String) = ([], -1, "")
            var attempt = 0
            let answered = await eventually(timeout: .seconds(15)) {
                attempt += 1
                let tag = tag(attempt)
                await beforeRead(tag)
                guard let readAt = try? await store.currentSequence() else { return false }
                await afterRead(tag)
                let trips = counting.roundTrips
                guard
                    let tiers = try? await cache.set(
                        CacheAddress(namespace: namespace, key: key),
                        body: ByteBuffer(string: key),
                        contentType: "text/plain",
                        tags: [tag],
                        readAt: readAt
                    )
                else { return false }
                outcome = (tiers, counting.roundTrips - trips, tag)
                return cache.isL2Available
            }
            #expect(answered)
            return outcome
        }
        func invalidate(_ tag: String) async {
            await other.cache.invalidate(InvalidationRequest(tags: [tag]))
        }

        let fresh = try await storeNow("fresh", tag: { "never-\(namespace)-\($0)" })
        #expect(fresh.tiers == [.l1, .l2])
        #expect(fresh.trips == 1, "the tag's version checked by the write itself")
        #expect(try await other.cache.get(CacheAddress(namespace: namespace, key: "fresh"))?.text == "fresh")
        // The tag is known now: the next store of it sends only the write.
        let again = try await storeNow("again", tag: { _ in fresh.tag })
        #expect(again.tiers == [.l1, .l2] && again.trips == 1)

        // Invalidated before the read: the guess of version 0 is refused, the version learnt, the entry sealed at it
        // (a reader elsewhere accepts it only then).
        let earlier = try await storeNow("earlier", tag: { "earlier-\(namespace)-\($0)" }, beforeRead: invalidate)
        #expect(earlier.tiers == [.l1, .l2])
        #expect(earlier.trips == 2, "the refused write, then the write at the version the refusal named")
        #expect(try await other.cache.get(CacheAddress(namespace: namespace, key: "earlier"))?.text == "earlier")

        // Invalidated after the read: stored nowhere.
        let late = try await storeNow("late", tag: { "late-\(namespace)-\($0)" }, afterRead: invalidate)
        #expect(late.tiers.isEmpty)
        #expect(try await other.cache.get(CacheAddress(namespace: namespace, key: "late")) == nil)

        // The script's own answers: a tag at the version sealed but invalidated after the read refuses the write; at
        // another version, it is named with the version Redis holds.
        let tag = late.tag
        let state = try #require(try await store.versions(of: [tag])[tag])
        let now = Date().timeIntervalSince1970
        let sealed = CacheEntry(
            body: ByteBuffer(string: "x"),
            contentType: "text/plain",
            tags: [tag],
            tagVersions: [state.version],
            createdAt: now,
            ttl: 60
        )
        let direct = "\(namespace)/direct"
        let refused = try await store.write(sealed, at: direct, now: now, checking: [tag], readAt: state.sequence - 1)
        #expect(refused == .invalidatedAfterRead(tag, state))
        var stale = sealed
        stale.tagVersions = [0]
        #expect(
            try await store.write(stale, at: direct, now: now, checking: [tag], readAt: state.sequence)
                == .tagChanged(tag, state)
        )
        #expect(try await store.read(direct).entry == nil, "neither refusal wrote")
        guard
            case .written = try await store.write(sealed, at: direct, now: now, checking: [tag], readAt: state.sequence)
        else {
            Issue.record("a write at the tag's version, read after its invalidation, lands")
            return
        }
        #expect(try await store.read(direct).entry?.tagVersions == [state.version])
        await other.stop()
        await client.shutdown()
    }

    @Test("1,000 concurrent misses of one key run the loader once, and the value reaches L2")
    func stampede() async throws {
        // Every one of the 1,000 reads asks L2 first: with a pool of 8 on a busy 2-core machine, some wait past the
        // pool's 5 s acquire timeout, and the cache then rightly skips a saturated L2. This test is about the one load
        // and its write to L2, so L2 gets a pool that takes the burst.
        let holder = try RedisBackedCache(url: try TestEnvironment.redisURL(), maximumConnections: 64)
        try await holder.ready()
        let cache = holder.cache
        let address = try CacheAddress(namespace: uniqueNamespace("stampede"), key: "hot")
        let calls = Atomic<Int>(0)
        let loader: CacheLoader = {
            calls.add(1, ordering: .relaxed)
            try await Task.sleep(for: .milliseconds(200))
            return CacheLoad(body: ByteBuffer(string: "loaded"))
        }
        let values = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<1_000 { group.addTask { try await cache.get(address, loader: loader)?.text } }
            return try await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(calls.load(ordering: .relaxed) == 1)
        #expect(values.count == 1_000 && values.allSatisfy { $0 == "loaded" })
        let other = try RedisBackedCache(url: try TestEnvironment.redisURL())
        #expect(try await other.cache.get(address)?.tier == .l2)
        await holder.stop()
        await other.stop()
    }

    @Test("With an encryption key, Redis holds no plaintext; large values are stored compressed")
    func atRest() async throws {
        let key = SymmetricKey(size: .bits256)
        let holder = try RedisBackedCache(
            url: try TestEnvironment.redisURL(),
            codec: L2Codec(compressionThreshold: 1024, encryptionKey: key)
        )
        let address = try CacheAddress(namespace: uniqueNamespace("sealed"), key: "guests")
        let body = String(repeating: #"{"guest":"Ada Lovelace","table":7},"#, count: 300)
        try await holder.cache.set(address, body: ByteBuffer(string: body), contentType: "application/json")
        let raw = try await holder.redis.get("wsc:{\(address.string)}:d") ?? []
        #expect(!raw.isEmpty)
        #expect(!String(decoding: raw, as: UTF8.self).contains("Lovelace"))
        #expect(raw.count < body.utf8.count / 4, "deflated before sealing")
        let reader = try RedisBackedCache(url: try TestEnvironment.redisURL(), codec: L2Codec(encryptionKey: key))
        #expect(try await reader.cache.get(address)?.text == body)
        let wrongKey = try RedisBackedCache(
            url: try TestEnvironment.redisURL(),
            codec: L2Codec(encryptionKey: SymmetricKey(size: .bits256))
        )
        #expect(try await wrongKey.cache.get(address) == nil, "a record that does not open is a miss, never an error")
        await holder.stop()
        await reader.stop()
        await wrongKey.stop()
    }

    @Test("Redis killed mid-test: reads keep succeeding from L1 and the loader; when it returns, L2 is used again")
    func redisDown() async throws {
        let server = try await PrivateRedis.start()
        let (a, b) = try await RedisBackedCache.pair(url: server.url)
        let namespace = uniqueNamespace("down")
        let calls = Atomic<Int>(0)
        let loader: CacheLoader = {
            let call = calls.add(1, ordering: .relaxed).newValue
            return CacheLoad(body: ByteBuffer(string: "v\(call)"), tags: ["org:1"])
        }
        let hot = try CacheAddress(namespace: namespace, key: "hot")
        #expect(try await a.cache.get(hot, loader: loader)?.tier == .loader)

        try await server.stop()
        var failures = 0
        for round in 0..<200 {
            let address = try CacheAddress(namespace: namespace, key: "k\(round % 20)")
            do {
                guard try await a.cache.get(address, loader: loader) != nil else {
                    failures += 1
                    continue
                }
            } catch {
                failures += 1
            }
        }
        #expect(failures == 0)
        #expect(await eventually(timeout: .seconds(15)) { !a.cache.isBackplaneLive })
        #expect(!a.cache.isL2Available)
        let loadsDuringOutage = calls.load(ordering: .relaxed)
        #expect(loadsDuringOutage < 200, "L1 kept answering during the outage (\(loadsDuringOutage) loads)")
        // An invalidation made while Redis is down applies here at once and is replayed when Redis returns.
        let offline = await a.cache.invalidate(InvalidationRequest(tags: ["org:1"]))
        #expect(!offline.propagated)

        try await server.start()
        #expect(await eventually(timeout: .seconds(10)) { a.cache.isBackplaneLive && b.cache.isBackplaneLive })
        let after = try CacheAddress(namespace: namespace, key: "after")
        #expect(
            await eventually(timeout: .seconds(15)) {
                ((try? await a.cache.set(after, body: ByteBuffer(string: "back"), contentType: "text/plain")) ?? [])
                    .contains(.l2)
            }
        )
        #expect(try await b.cache.get(after)?.tier == .l2)
        #expect(a.cache.isL2Available)
        // The replay runs on resubscribe and on a one-second retry, so it may land just after L2 is back.
        let replayed = await eventually(timeout: .seconds(15)) {
            (try? await a.redis.send("HGET", RedisArgument("wsc:tv:org:1"), "v").int) == 1
        }
        #expect(replayed, "the offline invalidation was replayed")
        await a.stop()
        await b.stop()
    }
}

@Suite("Multi-tier cache across processes and outages", .serialized, .timeLimit(.minutes(2)))
struct CacheAcrossProcessesTests {
    @Test("With the load lease, concurrent misses in two processes run the loader once in all")
    func distributedStampede() async throws {
        // A lease longer than any stall of a full run: with 200 gets this test took half a second alone and 20 to
        // 30 s among the other suites (the gets queue behind everyone's Redis calls), and a lease that lapses, or a
        // lease request that times out, lets the other process load too. A lease that is not honoured still fails
        // at once (two loads); 30 gets in each process still race for it.
        let policy = NamespacePolicy(ttl: 60, distributedLoadLock: true, loadLease: .seconds(90))
        let (a, b) = try await RedisBackedCache.pair(url: try TestEnvironment.redisURL(), policy: policy)
        let address = try CacheAddress(namespace: uniqueNamespace("lease"), key: "report")
        let calls = Counter()
        let loader: CacheLoader = {
            calls.increment()
            try await Task.sleep(for: .milliseconds(300))
            return CacheLoad(body: ByteBuffer(string: "costly"))
        }
        let (cacheA, cacheB) = (a.cache, b.cache)
        let values = try await withThrowingTaskGroup(of: String?.self) { group in
            for index in 0..<60 {
                let cache = index % 2 == 0 ? cacheA : cacheB
                group.addTask { try await cache.get(address, loader: loader).map { String(buffer: $0.entry.body) } }
            }
            return try await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(calls.value == 1)
        #expect(values.count == 60 && values.allSatisfy { $0 == "costly" })
        await a.stop()
        await b.stop()
    }

    @Test("Without the lease, each process loads once (single flight is per process)")
    func perProcessStampede() async throws {
        // Both subscribed first: a (re)subscription clears L1 and refuses loads begun before it.
        let (a, b) = try await RedisBackedCache.pair(url: try TestEnvironment.redisURL())
        let address = try CacheAddress(namespace: uniqueNamespace("nolease"), key: "report")
        let calls = Counter()
        let loader: CacheLoader = {
            calls.increment()
            try await Task.sleep(for: .milliseconds(300))
            return CacheLoad(body: ByteBuffer(string: "costly"))
        }
        let (cacheA, cacheB) = (a.cache, b.cache)
        let sessions = cacheA.backplaneSessions + cacheB.backplaneSessions
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<100 {
                let cache = index % 2 == 0 ? cacheA : cacheB
                group.addTask { _ = try await cache.get(address, loader: loader) }
            }
            try await group.waitForAll()
        }
        // A subscription dropped and renewed meanwhile (a machine busy with other tests can stall one) clears that
        // process's L1 and refuses the load running there, which is then run again: one more load each, no more.
        let resubscribed = cacheA.backplaneSessions + cacheB.backplaneSessions - sessions
        #expect(calls.value == 2 + resubscribed, "\(calls.value) loads, \(resubscribed) resubscriptions")
        await a.stop()
        await b.stop()
    }

    @Test(
        "A value read before a prefix invalidation and written to L2 after it (a load elsewhere) is refused everywhere"
    )
    func latePrefixWriter() async throws {
        let url = try TestEnvironment.redisURL()
        let (a, b) = try await RedisBackedCache.pair(url: url)
        let namespace = uniqueNamespace("late")
        let address = try CacheAddress(namespace: namespace, key: "2026-06-13")
        let store = RedisL2Store(redis: a.redis)
        // A load elsewhere notes the sequence and the key's version, then reads its (soon outdated) data...
        let before = try await store.currentSequence()
        let keyVersion = try await store.keyVersion(of: address.string)
        // ...the prefix is invalidated meanwhile: the scan finds nothing under it to delete or bump...
        await a.cache.invalidate(InvalidationRequest(prefixes: ["\(namespace)/2026-06"]))
        // ...and then the load writes what it read. The conditional write lands: only the sequence can tell.
        var late = CacheEntry(
            body: ByteBuffer(string: "old"),
            contentType: "text/plain",
            createdAt: Date().timeIntervalSince1970,
            ttl: 60
        )
        late.sequence = before
        #expect(
            try await store.write(
                late,
                at: address.string,
                expectedKeyVersion: keyVersion,
                now: Date().timeIntervalSince1970
            ) != nil
        )
        #expect(try await a.cache.get(address) == nil)
        #expect(await eventually(timeout: CacheRedisTests.bound) { (try? await b.cache.get(address)) == nil })
        // A process started later learns the prefix invalidation from Redis when it connects.
        let c = try RedisBackedCache(url: url)
        try await c.ready()
        #expect(try await c.cache.get(address) == nil)
        // What is written after the invalidation is served.
        try await a.cache.set(address, body: ByteBuffer(string: "new"), contentType: "text/plain")
        #expect(try await c.cache.get(address).map { String(buffer: $0.entry.body) } == "new")
        await a.stop()
        await b.stop()
        await c.stop()
    }

    @Test(
        "After its subscription drops, a process serves nothing it held before: an invalidation it missed is not served"
    )
    func missedInvalidation() async throws {
        let server = try await PrivateRedis.start()
        let (a, b) = try await RedisBackedCache.pair(url: server.url)
        let address = try CacheAddress(namespace: "missed", key: "schedule")
        try await a.cache.set(address, body: ByteBuffer(string: "old"), contentType: "text/plain", tags: ["day:13"])
        _ = try await b.cache.get(address)
        #expect(try await b.cache.get(address)?.tier == .l1)

        // Drop every pub/sub connection: b will not hear the invalidation a makes next.
        let sessions = b.cache.backplaneSessions
        _ = try await a.redis.send("CLIENT", "KILL", "TYPE", "pubsub")
        await a.cache.invalidate(InvalidationRequest(tags: ["day:13"]))
        // b noticed the drop and subscribed again (not merely still live from before it noticed).
        #expect(
            await eventually(timeout: .seconds(10)) { b.cache.backplaneSessions > sessions && b.cache.isBackplaneLive }
        )
        // Whatever b held before the drop is gone from its L1, and the L2 copy fails its tag check.
        #expect(b.cache.l1.statistics.entries == 0)
        #expect(try await b.cache.get(address) == nil)
        await a.stop()
        await b.stop()
    }
}
