import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import WedSyncAPI
import WedSyncCacheKit
import WedSyncCacheService
import WedSyncConnectionPool
import WedSyncModels
import WedSyncPostgres
import WedSyncRedis
import WedSyncServiceKit

/// Benchmarks of the cache library and service (scripts/bench, suite `cache`).
enum CacheBenchmark {
    // MARK: L1

    /// `cache-l1`: L1 read cost at 1 and 2 threads (the raw sharded Window TinyLFU, and a full `MultiTierCache.get` hit),
    /// hit ratio against LRU on Zipf(0.99) and Zipf mixed with scans, and the time to invalidate a tag carried by
    /// 100,000 entries (in L1 and L2) on `--redis-url`.
    static func l1(_ arguments: BenchArguments) async throws {
        let seconds = Double(arguments.int("seconds", default: 5))
        let entries = 100_000
        let l1 = L1Cache<CacheEntry>(configuration: L1Configuration(maximumEntries: entries * 2, maximumBytes: 1 << 30))
        let keys = (0..<entries).map { "schedules/org-\($0 % 1000)/2026-06-\($0 / 1000)" }
        // The host's floor beside it: the same entries in a plain Swift dictionary behind one lock, read and copied
        // with no eviction policy at all (the two are read in turn, never at once).
        final class Floor: Sendable { let table = Mutex<[String: CacheEntry]>([:]) }
        let floor = Floor()
        // Each entry its own body, as in a service: one value shared by all would have both threads retain and
        // release one buffer on every read, measuring that rather than the L1.
        for key in keys {
            let value = CacheEntry(
                body: ByteBuffer(repeating: 0x61, count: 512),
                contentType: "application/json",
                createdAt: 0,
                ttl: .infinity
            )
            l1.set(key, value, cost: value.cost, retainUntil: .infinity, now: 0)
            floor.table.withLock { $0[key] = value }
        }
        var zipf = ZipfGenerator(keys: entries, exponent: 0.99, seed: 42)
        let ranks = (0..<(1 << 20)).map { _ in zipf.next() }
        // Each thread reads with keys of its own, as requests build theirs: shared key strings would be retained and
        // released by both threads on every read.
        let orders = (0..<2).map { _ in
            let own = keys.map { String(decoding: Array($0.utf8), as: UTF8.self) }
            return ranks.map { own[$0] }
        }

        // This host's memory latency moves the L1 and its floor by a third from one minute to the next: rounds of each
        // in turn, so each L1 round has a floor round beside it.
        func rate(_ threads: Int, seconds: Double, _ read: @escaping @Sendable (String) -> Bool) -> Double {
            let operations = measureThreads(threads, seconds: seconds) { thread, stop in
                var index = thread * 7919
                var count = 0
                let order = orders[thread]
                let mask = order.count - 1
                while !stop.load(ordering: .relaxed) {
                    for _ in 0..<1024 {
                        _ = read(order[index & mask])
                        index &+= 1
                    }
                    count += 1024
                }
                return count
            }
            return 1e9 * seconds * Double(threads) / Double(operations)
        }
        let rounds = max(2, arguments.int("rounds", default: 8))
        for threads in [1, 2] {
            var (l1Rounds, floorRounds): ([Double], [Double]) = ([], [])
            for _ in 0..<rounds {
                l1Rounds.append(rate(threads, seconds: seconds / Double(rounds)) { l1.get($0, now: 1) != nil })
                floorRounds.append(
                    rate(threads, seconds: seconds / Double(rounds)) { key in
                        floor.table.withLock { $0[key] } != nil
                    }
                )
            }
            func median(_ values: [Double]) -> Double {
                let sorted = values.sorted()
                return (sorted[(sorted.count - 1) / 2] + sorted[sorted.count / 2]) / 2
            }
            let nsPerOp = median(l1Rounds)
            report([
                "benchmark": "L1Cache.get (sharded Window TinyLFU, 100,000 entries, Zipf 0.99 keys)",
                "threads": threads, "rounds": rounds,
                "nsPerOp": nsPerOp, "minNsPerOp": l1Rounds.min() ?? 0, "maxNsPerOp": l1Rounds.max() ?? 0,
                "opsPerSecond": 1e9 * Double(threads) / nsPerOp,
                "floorNsPerOp": median(floorRounds), "floorMinNsPerOp": floorRounds.min() ?? 0,
                "overFloor": median(zip(l1Rounds, floorRounds).map { $0 / $1 }),
            ])
        }

        let cache = MultiTierCache(
            configuration: .init(l1: L1Configuration(maximumEntries: entries * 2, maximumBytes: 1 << 30), ttlJitter: 0),
            logger: Logger(label: "bench")
        )
        let addresses = try (0..<10_000).map { try CacheAddress(namespace: "schedules", key: "org-\($0)") }
        for address in addresses {
            try await cache.set(
                address,
                body: ByteBuffer(repeating: 0x61, count: 512),
                contentType: "application/json",
                tags: ["org:\(address.key)"]
            )
        }
        for tasks in [1, 2] {
            let started = ContinuousClock.now
            let perTask = 500_000
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<tasks {
                    group.addTask {
                        var generator = ZipfGenerator(keys: addresses.count, exponent: 0.99, seed: UInt64(task))
                        for _ in 0..<perTask {
                            guard try await cache.get(addresses[generator.next()]) != nil else {
                                throw BenchError("an L1 read missed")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let elapsed = (ContinuousClock.now - started).seconds
            report([
                "benchmark": "MultiTierCache.get, L1 hit (tags checked, statistics kept)", "threads": tasks,
                "nsPerOp": 1e9 * elapsed * Double(tasks) / Double(perTask * tasks),
                "opsPerSecond": Double(perTask * tasks) / elapsed,
            ])
        }

        // `--reads-only`: the read costs alone, to compare two builds quickly.
        guard !arguments.flag("reads-only") else { return }
        try await hitRatios()
        try await tagInvalidation(redisURL: try arguments.string("redis-url"))
    }

    /// Spins `threads` OS threads running `body` for `seconds`; returns the operations they counted.
    static func measureThreads(
        _ threads: Int,
        seconds: Double,
        _ body: @escaping @Sendable (Int, borrowing Atomic<Bool>) -> Int
    ) -> Int {
        final class Run: Sendable {
            let stop = Atomic(false)
            let total = Atomic(0)
            let done = Atomic(0)
        }
        let run = Run()
        for thread in 0..<threads {
            Thread {
                let count = body(thread, run.stop)
                run.total.add(count, ordering: .relaxed)
                run.done.add(1, ordering: .releasing)
            }.start()
        }
        Thread.sleep(forTimeInterval: seconds)
        run.stop.store(true, ordering: .relaxed)
        while run.done.load(ordering: .acquiring) < threads { Thread.sleep(forTimeInterval: 0.001) }
        return run.total.load(ordering: .relaxed)
    }

    static func hitRatios() async throws {
        // The workload families at 1,000 and 10,000 entries, a hundred times the capacity in accesses each: the L1
        // with its real sharding (and unsharded, for what sharding costs) beside the reference policies.
        for capacity in [1_000, 10_000] {
            for (name, workload) in Workload.named.sorted(by: { $0.key < $1.key }) {
                let trace = workload.trace(accesses: 100 * capacity, capacity: capacity, seed: 24_301)
                var ratios: [String: Double] = [:]
                for policy in CacheSimulator.Policy.allCases {
                    ratios[policy.rawValue] = CacheSimulator.hitRatio(trace, capacity: capacity, policy: policy)
                }
                let unsharded = CacheSimulator.hitRatio(trace, capacity: capacity, policy: .l1, shards: 1)
                let best = max(ratios["lru"]!, ratios["arc"]!, ratios["wtinylfu"]!)
                report([
                    "benchmark": "hit ratio by workload family", "family": name, "capacity": capacity,
                    "accesses": trace.count,
                    "l1Shards": L1Cache<Bool>(
                        configuration: L1Configuration(maximumEntries: capacity, maximumBytes: 1 << 30)
                    ).shardCount,
                    "l1": ratios["l1"]!, "l1Unsharded": unsharded, "lru": ratios["lru"]!, "arc": ratios["arc"]!,
                    "wtinylfu": ratios["wtinylfu"]!, "gapToBest": ratios["l1"]! - best,
                    "withinAPoint": ratios["l1"]! >= best - 0.01,
                ])
            }
        }
        let universe = 100_000
        let accesses = 1_000_000
        var generator = ZipfGenerator(keys: universe, exponent: 0.99, seed: 7)
        var zipf: [String] = []
        var mixed: [String] = []
        var scan = 0
        zipf.reserveCapacity(accesses)
        for index in 0..<accesses {
            let key = "k\(generator.next())"
            zipf.append(key)
            mixed.append(key)
            // Every 10,000 reads, a sequential scan of 5,000 keys read once (an export, a crawler).
            if index % 10_000 == 0 {
                for _ in 0..<5_000 {
                    mixed.append("scan\(scan)")
                    scan += 1
                }
            }
        }
        for (name, trace) in [("Zipf(0.99)", zipf), ("Zipf(0.99) + sequential scans", mixed)] {
            for capacity in [1_000, 10_000] {
                let l1 = CacheSimulator.hitRatio(trace, capacity: capacity, policy: .l1)
                let lru = CacheSimulator.hitRatio(trace, capacity: capacity, policy: .lru)
                report([
                    "benchmark": "hit ratio", "trace": name, "keys": universe, "accesses": trace.count,
                    "capacity": capacity,
                    "l1": l1, "lru": lru, "l1BeatsLRU": l1 > lru,
                ])
            }
        }
    }

    static func tagInvalidation(redisURL: String) async throws {
        let configuration = try RedisConfiguration(url: redisURL)
        let redis = RedisClient(
            configuration: configuration,
            poolConfiguration: .init(minimumConnections: 0, maximumConnections: 32),
            logger: Logger(label: "bench")
        )
        let cache = MultiTierCache(
            configuration: .init(
                l1: L1Configuration(maximumEntries: 200_000, maximumBytes: 1 << 30),
                defaultPolicy: NamespacePolicy(ttl: 3_600),
                ttlJitter: 0
            ),
            l2: RedisL2Store(redis: redis),
            logger: Logger(label: "bench")
        )
        let count = 100_000
        let namespace = "bench-\(UInt32.random(in: 0...UInt32.max))"
        let addresses = try (0..<count).map { try CacheAddress(namespace: namespace, key: "client-\($0)") }
        let filled = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<32 {
                group.addTask {
                    for index in stride(from: worker, to: count, by: 32) {
                        try await cache.set(
                            addresses[index],
                            body: ByteBuffer(string: #"{"client":\#(index)}"#),
                            contentType: "application/json",
                            tags: ["org:1", "client:\(index)"]
                        )
                    }
                }
            }
            try await group.waitForAll()
        }
        let fillSeconds = (ContinuousClock.now - filled).seconds
        guard try await cache.get(addresses[count / 2]) != nil else { throw BenchError("an entry was not stored") }
        let started = ContinuousClock.now
        let result = await cache.invalidate(InvalidationRequest(tags: ["org:1"]))
        let invalidation = ContinuousClock.now - started
        guard result.propagated else { throw BenchError("Redis did not take the invalidation") }
        // Every entry is unreadable at once, from L1 and from L2 (a second process with an empty L1 reads L2).
        let other = MultiTierCache(
            configuration: .init(ttlJitter: 0),
            l2: RedisL2Store(redis: redis),
            logger: Logger(label: "bench")
        )
        var readable = 0
        for index in stride(from: 0, to: count, by: 97) {
            if try await cache.get(addresses[index]) != nil { readable += 1 }
            if try await other.get(addresses[index]) != nil { readable += 1 }
        }
        report([
            "benchmark": "invalidate one tag carried by 100,000 entries (L1 and L2)", "entries": count,
            "invalidationMicros": invalidation.seconds * 1e6, "stillReadable": readable, "fillSeconds": fillSeconds,
        ])
        _ = await cache.invalidate(InvalidationRequest(prefixes: ["\(namespace)/"]))
        await redis.shutdown()
    }

    // MARK: L2

    /// `cache-l2`: `--samples` sequential L2 reads (L1 off) of a 1 KB value: p50/p99 in µs, beside a raw `GET` of the
    /// same bytes through the Redis client (scripts/bench prints `redis-benchmark -t get` beside both).
    static func l2(_ arguments: BenchArguments) async throws {
        let samples = arguments.int("samples", default: 20_000)
        let configuration = try RedisConfiguration(url: try arguments.string("redis-url"))
        let redis = RedisClient(
            configuration: configuration,
            poolConfiguration: .init(minimumConnections: 1, maximumConnections: 4),
            logger: Logger(label: "bench")
        )
        let cache = MultiTierCache(
            configuration: .init(namespaces: ["l2only": NamespacePolicy(ttl: 3_600, useL1: false)], ttlJitter: 0),
            l2: RedisL2Store(redis: redis),
            logger: Logger(label: "bench")
        )
        let address = try CacheAddress(namespace: "l2only", key: "schedule")
        let body = ByteBuffer(bytes: (0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try await cache.set(address, body: body, contentType: "application/json", tags: ["org:1", "day:2026-06-13"])
        try await redis.set("bench:raw", value: Array(body.readableBytesView))
        /// The reads, timed from wherever the calling task runs.
        func measure(_ caller: String) async throws {
            var tier: [Double] = []
            var raw: [Double] = []
            for index in 0..<(samples + 500) {
                let started = ContinuousClock.now
                guard try await cache.get(address)?.tier == .l2 else {
                    throw BenchError("the read did not come from L2")
                }
                let middle = ContinuousClock.now
                _ = try await redis.get("bench:raw")
                let end = ContinuousClock.now
                guard index >= 500 else { continue }
                tier.append((middle - started).seconds * 1e6)
                raw.append((end - middle).seconds * 1e6)
            }
            report([
                "benchmark":
                    "MultiTierCache L2 get (MGET of metadata, data, version; decode; tag check), 1 KB, \(caller)",
                "samples": samples, "micros": percentiles(tier),
            ])
            report(["benchmark": "RedisClient GET, 1 KB, \(caller)", "samples": samples, "micros": percentiles(raw)])
        }
        // As the gateway's and the cache service's handlers call it: from a task on an event loop, answered there.
        try await withTaskExecutorPreference(EventLoopTaskExecutor(MultiThreadedEventLoopGroup.singleton.next())) {
            try await measure("from a task on an event loop (as the services' handlers)")
        }
        try await measure("from the concurrency pool")
        await redis.shutdown()
    }

    // MARK: Warming

    /// `cache-warming`: on a seeded API behind a gateway, `--suppliers` suppliers of the businesses with a wedding on
    /// the busiest Saturday open that day's schedules through the gateway, cold (nothing warmed) and after the cache
    /// service's gateway job (as the shipped Friday-evening schedule submits it) warmed the gateway.
    ///
    /// Each read goes over a kept-alive connection of a minimal client (``KeepAliveClient``), after the phone's app
    /// launch call (untimed: it has the gateway check the token, as the day's first request does); the same reads
    /// with fresh tokens, the token check in them, are reported too. Cold twice: "spread over the morning" (each
    /// read comes more than the API's minute of freshness after its business's last one, as suppliers opening the
    /// app between 06:00 and 10:00 do; emulated by purging the business's pages before each read), the headline;
    /// and "back to back" (all reads within seconds, so a business's later suppliers hit what its first one left).
    /// A read's time runs from sending it to its answer's last byte; the gateway's own time (`x-response-time`) is
    /// reported beside it.
    static func warming(_ arguments: BenchArguments) async throws {
        let logger = Logger(label: "bench")
        let pool = PostgresPool(
            name: "bench",
            configuration: try PostgresConfiguration(url: try arguments.string("database-url")),
            logger: logger
        )
        defer { Task { await pool.shutdown() } }
        let api = try arguments.string("api-url")
        let gateway = try arguments.string("gateway-url")
        let cacheURL = try arguments.string("cache-url")
        let admin = try arguments.string("admin-token")
        let suppliers = arguments.int("suppliers", default: 1_000)
        // "Tomorrow" is the Saturday with the most businesses holding a booked wedding: on the Friday evening before
        // it, the gateway is warmed; on the morning, every supplier of those businesses opens it.
        let tomorrow = try await pool.query(
            """
            SELECT wedding_date FROM clients
            WHERE extract(dow FROM wedding_date) = 6 AND status = 'booked' AND deleted_at IS NULL
            GROUP BY 1 ORDER BY count(DISTINCT organization_id) DESC LIMIT 1
            """
        )[0].decode(CalendarDay.self, at: 0)
        let organizations = try await pool.query(
            """
            SELECT DISTINCT organization_id FROM clients
            WHERE wedding_date = \(tomorrow.description)::date AND status = 'booked' AND deleted_at IS NULL ORDER BY 1
            """
        ).map { try $0.decode(Int.self, at: 0) }
        guard !organizations.isEmpty else { throw BenchError("no wedding on \(tomorrow)") }
        // Tokens per supplier: the businesses in turn (a business's suppliers share its pages). Three sets: one for
        // the reads after the launch call, and a fresh one for each pass with the token check in the read.
        let store = TokenStore(database: PostgresDatabase(primary: pool))
        func phones() async throws -> [(organization: Int, token: String)] {
            var phones: [(organization: Int, token: String)] = []
            for index in 0..<suppliers {
                let organization = organizations[index % organizations.count]
                phones.append((organization, try await store.issue(organization: organization, label: "bench")))
            }
            return phones
        }
        let launched = try await phones()
        let (coldTokens, warmTokens) = (try await phones(), try await phones())
        let page = "/api/supplier-schedules?date=\(tomorrow)"
        func fetch(
            _ target: String,
            method: HTTPMethod = .GET,
            headers: [(String, String)] = [],
            body: ByteBuffer? = nil
        ) async throws -> (Int, ByteBuffer, HTTPHeaders) {
            var request = HTTPClientRequest(url: target)
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(body) }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            return (Int(response.status.code), try await response.body.collect(upTo: 64 << 20), response.headers)
        }
        func purge(_ organizations: [Int]) async throws {
            let tags = organizations.map { "org:\($0)" }
            for start in stride(from: 0, to: tags.count, by: 1_000) {
                let body = try JSONEncoder().encode(["tags": Array(tags[start..<min(tags.count, start + 1_000)])])
                let (status, _, _) = try await fetch(
                    "\(gateway)/admin/purge",
                    method: .POST,
                    headers: [("authorization", "Bearer \(admin)"), ("content-type", "application/json")],
                    body: ByteBuffer(bytes: Array(body))
                )
                guard status == 200 else { throw BenchError("the gateway refused the purge (\(status))") }
            }
        }
        /// Each phone's first read of the page, in order: its milliseconds, and how many were `x-cache: HIT`.
        /// `launch`: after the app's launch call; `spread`: each after its business's pages were purged.
        func morning(_ phones: [(organization: Int, token: String)], launch: Bool, spread: Bool = false) async throws
            -> (milliseconds: [Double], hits: Int, serverMs: [Double])
        {
            let client = try KeepAliveClient(base: gateway)
            var times: [Double] = []
            var server: [Double] = []
            var hits = 0
            for phone in phones {
                let authorization = ("Authorization", "Bearer \(phone.token)")
                if spread { try await purge([phone.organization]) }
                if launch {
                    let status = try client.get("/api/auth/introspect", headers: [authorization]).status
                    guard status == 200 else { throw BenchError("the app's launch call answered \(status)") }
                }
                let answer = try client.get(page, headers: [authorization, ("Accept-Encoding", "gzip")])
                times.append(answer.elapsed.seconds * 1000)
                guard answer.status == 200 else { throw BenchError("a supplier's read answered \(answer.status)") }
                if answer.headers["x-cache"] == "HIT" { hits += 1 }
                // The gateway's own time for it (`x-response-time`): the rest is the loopback and this client.
                if let own = answer.headers["x-response-time"].flatMap(Double.init) { server.append(own) }
            }
            return (times, hits, server)
        }

        // The API's own pages warm (connections, plans, its token cache) for every pass: one direct read each.
        for phone in launched.prefix(organizations.count * 2) {
            _ = try await fetch(api + page, headers: [("authorization", "Bearer \(phone.token)")])
        }
        try await purge(organizations)
        let coldBackToBack = try await morning(launched, launch: true)
        try await purge(organizations)
        let cold = try await morning(launched, launch: true, spread: true)
        try await purge(organizations)
        let coldWithToken = try await morning(coldTokens, launch: false, spread: true)

        // The Friday-evening job, as the shipped schedule submits it: the targets of the day, through the gateway.
        func warm() async throws -> (WarmJob, Double) {
            let request = WarmRequest(
                namespace: WarmRequest.gatewayNamespace,
                concurrency: 8,
                ttl: 129_600,
                name: "saturday-pages",
                gateway: WarmRequest.Gateway(
                    url: gateway,
                    targetsURL: "\(api)\(APIPath.API.warmingTargets)?date=\(tomorrow)"
                )
            )
            let started = ContinuousClock.now
            let (accepted, body, _) = try await fetch(
                "\(cacheURL)/v1/warm",
                method: .POST,
                headers: [("authorization", "Bearer \(admin)"), ("content-type", "application/json")],
                body: ByteBuffer(bytes: Array(try WedSyncJSON.makeEncoder().encode(request)))
            )
            guard accepted == 202 else {
                throw BenchError("the warming job was refused (\(accepted)): \(String(buffer: body))")
            }
            var job = try WedSyncJSON.makeDecoder().decode(WarmJob.self, from: Data(body.readableBytesView))
            while job.state == .queued || job.state == .running {
                try await Task.sleep(for: .milliseconds(20))
                let (_, progress, _) = try await fetch(
                    "\(cacheURL)/v1/jobs/\(job.id)",
                    headers: [("authorization", "Bearer \(admin)")]
                )
                job = try WedSyncJSON.makeDecoder().decode(WarmJob.self, from: Data(progress.readableBytesView))
            }
            guard job.state == .completed, job.failed == 0 else {
                throw BenchError(
                    "the warming job ended \(job.state.rawValue) with \(job.failed) failures: \(job.errors)"
                )
            }
            return (job, (ContinuousClock.now - started).seconds)
        }
        try await purge(organizations)
        let (job, warmSeconds) = try await warm()
        let warmed = try await morning(launched, launch: true)
        try await purge(organizations)
        _ = try await warm()
        let warmedWithToken = try await morning(warmTokens, launch: false)

        typealias Pass = (milliseconds: [Double], hits: Int, serverMs: [Double])
        func p95(_ pass: Pass) -> Double { percentiles(pass.milliseconds)["p95"] ?? 0 }
        func cut(_ cold: Pass, _ warm: Pass) -> Double {
            p95(cold) > 0 ? 1 - p95(warm) / p95(cold) : 0
        }
        report([
            "benchmark": "suppliers open tomorrow's schedules through the gateway, cold vs warmed",
            "date": tomorrow.description, "suppliers": launched.count, "organizations": organizations.count,
            "coldMs": percentiles(cold.milliseconds), "coldHits": cold.hits,
            "coldBackToBackMs": percentiles(coldBackToBack.milliseconds), "coldBackToBackHits": coldBackToBack.hits,
            "warmedMs": percentiles(warmed.milliseconds), "warmedHits": warmed.hits,
            "coldServerMs": percentiles(cold.serverMs), "warmedServerMs": percentiles(warmed.serverMs),
            "p95Reduction": cut(cold, warmed), "p95ReductionBackToBack": cut(coldBackToBack, warmed),
            "coldWithTokenCheckMs": percentiles(coldWithToken.milliseconds),
            "coldWithTokenCheckHits": coldWithToken.hits,
            "warmedWithTokenCheckMs": percentiles(warmedWithToken.milliseconds),
            "warmedWithTokenCheckHits": warmedWithToken.hits,
            "p95ReductionWithTokenCheck": cut(coldWithToken, warmedWithToken),
            "warmingSeconds": warmSeconds, "warmedPages": job.succeeded, "warmedBytes": job.bytes,
        ])
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
