import Foundation
import NIOHTTP1
import Testing
import WedSyncCacheKit
import WedSyncModels
import WedSyncTestSupport

/// Two `wedsync-cache` processes on one Redis, as two replicas behind a load balancer.
@Suite("wedsync-cache processes", .serialized, .timeLimit(.minutes(2)))
struct CacheServiceTests {
    static let token = TestCredentials.admin
    var admin: [(String, String)] { [("Authorization", "Bearer \(Self.token)")] }

    /// Two processes on the shared redis-server, or (`cluster`) on the shared Redis Cluster, serving `namespaces`.
    static func startPair(cluster: Bool = false, namespaces: [String]) async throws -> (ServiceProcess, ServiceProcess)
    {
        let redis = cluster ? try TestEnvironment.redisClusterURLs() : try TestEnvironment.redisURL()
        let environment = ["WEDSYNC_REDIS_URL": redis, "WEDSYNC_CACHE_NAMESPACES": namespaces.joined(separator: ",")]
        let first = try ServiceProcess("wedsync-cache", environment: environment)
        let second = try ServiceProcess("wedsync-cache", environment: environment)
        try await first.waitUntil("/ready")
        try await second.waitUntil("/ready")
        // /ready reports the backplane; wait until both hear invalidations.
        for process in [first, second] {
            _ = await eventually(timeout: .seconds(30)) {
                ((try? await HTTP.get("\(process.baseURL)/ready"))?.text.contains(#""name":"backplane","state":"up""#))
                    ?? false
            }
        }
        return (first, second)
    }

    /// How long the test waits for an invalidation to reach the other process: milliseconds when idle (printed), but
    /// the suite's load has stalled a subscriber past a second, so the test asserts arrival, not speed. A lost
    /// invalidation still fails: the entry would stay for its TTL of two minutes.
    static let bound = Duration.seconds(15)

    @Test(
        "A tag invalidated through one process becomes unreadable through the other, and stays so",
        arguments: [false, true]
    )
    func tagAcrossProcesses(cluster: Bool) async throws {
        let namespace = uniqueNamespace("svc")
        let (first, second) = try await Self.startPair(cluster: cluster, namespaces: [namespace])
        var worst = Duration.zero
        for round in 0..<10 {
            let path = "/v1/entries/\(namespace)/day-\(round)"
            let put = try await HTTP.send(
                .PUT,
                "\(first.baseURL)\(path)?ttl=120&tags=\(namespace)-client:\(round),\(namespace)-org",
                headers: admin + [("Content-Type", "application/json")],
                body: #"{"round":\#(round)}"#
            )
            #expect(put.status == 200, "\(put.text)")
            let fromL2 = try await HTTP.get("\(second.baseURL)\(path)", headers: admin)
            #expect(fromL2.status == 200)
            #expect(fromL2.headers.first(name: "x-cache-tier") == "L2")
            #expect(fromL2.headers.first(name: "content-type") == "application/json")
            #expect(fromL2.text == #"{"round":\#(round)}"#)
            #expect(
                try await HTTP.get("\(second.baseURL)\(path)", headers: admin).headers.first(name: "x-cache-tier")
                    == "L1"
            )

            let invalidation = try await HTTP.send(
                .POST,
                "\(first.baseURL)/v1/invalidations",
                headers: admin,
                body: #"{"tags":["\#(namespace)-client:\#(round)"]}"#
            )
            #expect(invalidation.status == 200)
            let acknowledged = ContinuousClock.now
            // Reads are timed by their start, so a slow response cannot inflate the figure.
            var firstMiss: Duration?
            while firstMiss == nil, ContinuousClock.now - acknowledged < Self.bound {
                let started = ContinuousClock.now
                if try await HTTP.get("\(second.baseURL)\(path)", headers: admin).status == 404 {
                    firstMiss = started - acknowledged
                }
            }
            #expect(firstMiss != nil, "still readable \(Self.bound) after the acknowledgement")
            #expect(
                try await HTTP.get("\(second.baseURL)\(path)", headers: admin).status == 404,
                "readable again after it was gone"
            )
            worst = max(worst, firstMiss ?? Self.bound)
            #expect(try await HTTP.get("\(first.baseURL)\(path)", headers: admin).status == 404)
        }
        print("cache: tag invalidation reached the other process within \(worst) (worst of 10)")
        try await first.terminate()
        try await second.terminate()
    }

    @Test("PUT, GET, DELETE and invalidation by key and prefix; statistics count the tiers")
    func entries() async throws {
        let namespace = uniqueNamespace("svc")
        let (first, second) = try await Self.startPair(namespaces: [namespace])
        for day in ["2026-06-12", "2026-06-13", "2026-07-01"] {
            let put = try await HTTP.send(
                .PUT,
                "\(first.baseURL)/v1/entries/\(namespace)/\(day)",
                headers: admin + [("Content-Type", "text/csv")],
                body: "day,\(day)"
            )
            #expect(put.status == 200)
            struct Written: Decodable { var tiers: [String] }
            #expect(try WedSyncJSON.makeDecoder().decode(Written.self, from: put.data).tiers == ["L1", "L2"])
        }
        #expect(
            try await HTTP.get("\(second.baseURL)/v1/entries/\(namespace)/2026-06-12", headers: admin).text
                == "day,2026-06-12"
        )
        let deleted = try await HTTP.send(
            .DELETE,
            "\(first.baseURL)/v1/entries/\(namespace)/2026-06-12",
            headers: admin
        )
        #expect(deleted.status == 200)
        #expect(
            await eventually(timeout: Self.bound) {
                (try? await HTTP.get("\(second.baseURL)/v1/entries/\(namespace)/2026-06-12", headers: admin).status)
                    == 404
            }
        )
        let prefix = try await HTTP.send(
            .POST,
            "\(first.baseURL)/v1/invalidations",
            headers: admin,
            body: #"{"prefix":"\#(namespace)/2026-06"}"#
        )
        let result = try WedSyncJSON.makeDecoder().decode(InvalidationResult.self, from: prefix.data)
        #expect(result.invalidatedPrefixes == 1)
        #expect(
            try await HTTP.get("\(second.baseURL)/v1/entries/\(namespace)/2026-06-13", headers: admin).status == 404
        )
        #expect(
            try await HTTP.get("\(second.baseURL)/v1/entries/\(namespace)/2026-07-01", headers: admin).status == 200
        )

        let stats = try WedSyncJSON.makeDecoder().decode(
            CacheStats.self,
            from: try await HTTP.get("\(second.baseURL)/v1/stats", headers: TestCredentials.asMonitor).data
        )
        let l2 = try #require(stats.tiers.first { $0.tier == "L2" })
        #expect(l2.hits >= 2)
        #expect(l2.p99Micros > 0)
        #expect(stats.hitRatio > 0)
        #expect(stats.namespaces.contains { $0.namespace == namespace })
        // The prefix's one L2 entry was swept by the service that invalidated it, in the background.
        #expect(
            try await eventually(timeout: .seconds(120)) {
                let swept = try WedSyncJSON.makeDecoder().decode(
                    CacheStats.self,
                    from: try await HTTP.get("\(first.baseURL)/v1/stats", headers: TestCredentials.asMonitor).data
                )
                return swept.sweptByPrefix == 1
            }
        )
        try await first.terminate()
        try await second.terminate()
    }

    @Test("Bad input is a 4xx envelope; mutations need the admin token")
    func badInput() async throws {
        let (first, second) = try await Self.startPair(namespaces: ["ns"])
        let base = first.baseURL
        let cases: [(HTTPMethod, String, [(String, String)], String?, Int, String)] = [
            (.PUT, "/v1/entries/ns/k", [], "x", 401, "unauthorized"),
            (.DELETE, "/v1/entries/ns/k", [], nil, 401, "unauthorized"),
            (.POST, "/v1/invalidations", [], #"{"tags":["a"]}"#, 401, "unauthorized"),
            (.PUT, "/v1/entries/bad%20ns/k", admin, "x", 400, "invalid_key"),
            (.PUT, "/v1/entries/ns/k?ttl=-3", admin, "x", 400, "invalid_parameter"),
            (.PUT, "/v1/entries/ns/k?ttl=soon", admin, "x", 400, "invalid_parameter"),
            (.POST, "/v1/invalidations", admin, "{}", 400, "invalid_body"),
            (.POST, "/v1/invalidations", admin, #"{"keys":["no-namespace"]}"#, 400, "invalid_body"),
            (.POST, "/v1/invalidations", admin, #"{"tags":"a"}"#, 400, "invalid_body"),
            (.POST, "/v1/invalidations", admin, "not json", 400, "invalid_body"),
            (.GET, "/v1/entries/ns/missing", admin, nil, 404, "not_found"),
            (.GET, "/v1/entries/ns/missing", [], nil, 401, "unauthorized"),
            (.GET, "/v1/entries/undeclared/k", admin, nil, 404, "unknown_namespace"),
            (.PUT, "/v1/entries/undeclared/k", admin, "x", 404, "unknown_namespace"),
            (.GET, "/v1/entries/gw/api%7C1%7C%2Fapi%2Fdashboard", admin, nil, 404, "unknown_namespace"),
            (.GET, "/v1/stats", [], nil, 401, "unauthorized"),
            (.GET, "/v1/stats", TestCredentials.asService("wedsync-gateway"), nil, 403, "forbidden"),
            (
                .POST, "/v1/invalidations", TestCredentials.asService("wedsync-gateway"), #"{"tags":["a"]}"#, 403,
                "forbidden"
            ),
            (
                .PUT, "/v1/entries/ns/k", [("Authorization", "Bearer not-a-known-token-0123456789")], "x", 401,
                "unauthorized"
            ),
            (.PATCH, "/v1/entries/ns/k", admin, "x", 405, "method_not_allowed"),
        ]
        for (method, path, headers, body, status, code) in cases {
            let answer = try await HTTP.send(method, "\(base)\(path)", headers: headers, body: body)
            #expect(answer.status == status, "\(method) \(path): \(answer.text)")
            let envelope = try? WedSyncJSON.makeDecoder().decode(ErrorEnvelope.self, from: answer.data)
            #expect(envelope?.error.code == code, "\(method) \(path): \(answer.text)")
        }
        try await first.terminate()
        try await second.terminate()
    }
}

@Suite("wedsync-cache simulate")
struct CacheSimulateTests {
    @Test("Replays a trace through the L1 policy and LRU and prints the hit ratios; bad arguments exit 2")
    func simulate() async throws {
        let binary = "\(try TestEnvironment.binDirectory())/wedsync-cache"
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "trace-\(UUID().uuidString.prefix(6)).txt"
        ).path
        // A hot set of 200 keys read three times a round, then a one-off scan twice the cache's size: LRU loses the
        // hot set to every scan, the L1's frequency filter keeps it in its main space.
        var lines: [String] = []
        for round in 0..<50 {
            for _ in 0..<3 {
                for key in 0..<200 { lines.append("hot\(key),\(round)") }
            }
            for key in 0..<2_000 { lines.append("scan\(round)-\(key)") }
        }
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try await run(binary, ["simulate", "--capacity", "1000", "--trace", path, "--policy", "all"])
        #expect(result.status == 0, "\(result.output)")
        let ratios = Dictionary(
            uniqueKeysWithValues: result.output.split(separator: "\n").compactMap { line -> (String, Double)? in
                let fields = line.split(separator: " ")
                guard let ratio = fields.last?.split(separator: "=").last.flatMap({ Double($0) }) else { return nil }
                return (String(fields[0]), ratio)
            }
        )
        let l1 = try #require(ratios["l1"])
        let lru = try #require(ratios["lru"])
        #expect(result.output.contains("accesses=130000"))
        #expect(lru < 0.16, "every scan flushes LRU's hot set: only the second and third reads of a round hit")
        #expect(l1 > 0.2, "the hot set survives the scans")
        #expect(ratios["arc"] != nil && ratios["wtinylfu"] != nil, "--policy all prints the reference policies too")

        // Another process (another seed of Swift's hashing) gives the very same figures for the same trace; another
        // seed of the shard hash may not, and is taken.
        let again = try await run(binary, ["simulate", "--capacity", "1000", "--trace", path, "--policy", "all"])
        #expect(again.output == result.output)
        let seeded = try await run(binary, ["simulate", "--capacity", "1000", "--trace", path, "--seed", "42"])
        #expect(seeded.status == 0 && seeded.output.hasPrefix("l1 capacity=1000"))
        let unsharded = try await run(binary, ["simulate", "--capacity", "1000", "--trace", path, "--shards", "1"])
        #expect(unsharded.status == 0 && unsharded.output.hasPrefix("l1 capacity=1000"))
        // A synthetic family instead of a file.
        let loop = try await run(
            binary,
            ["simulate", "--capacity", "100", "--workload", "loop", "--accesses", "5000", "--policy", "lru"]
        )
        #expect(loop.status == 0 && loop.output.hasPrefix("lru capacity=100 accesses=5000 hit_ratio=0.0000"))

        for arguments in [
            ["simulate"], ["simulate", "--capacity", "0", "--trace", path],
            ["simulate", "--capacity", "10", "--trace", "/nonexistent"],
            ["simulate", "--capacity", "10", "--trace", path, "--policy", "clock"],
            ["simulate", "--capacity", "10", "--trace", path, "--seed", "-1"],
            ["simulate", "--capacity", "10", "--trace", path, "--shards", "3"],
            ["simulate", "--capacity", "10", "--workload", "zipf-9"],
            ["simulate", "--capacity", "10", "--workload", "loop", "--trace", path],
        ] {
            let bad = try await run(binary, arguments)
            #expect(bad.status == 2, "\(arguments): \(bad.output)")
            #expect(bad.output.contains("wedsync-cache simulate:"))
        }
    }
}

@Suite("wedsync-cache with Redis down", .timeLimit(.minutes(2)))
struct CacheServiceOutageTests {
    @Test("Redis down: /ready says degraded, reads and writes go on from L1, and L2 is used again when Redis returns")
    func degraded() async throws {
        let redis = try await PrivateRedis.start()
        let admin = TestCredentials.asAdmin
        let cache = try ServiceProcess(
            "wedsync-cache",
            environment: [
                "WEDSYNC_REDIS_URL": redis.url, "WEDSYNC_CACHE_OUTAGE_L1_TTL_SECONDS": "60",
                "WEDSYNC_CACHE_NAMESPACES": "outage",
            ]
        )
        try await cache.waitUntil("/ready")
        try await redis.stop()
        #expect(
            await eventually(timeout: .seconds(10)) {
                ((try? await HTTP.get("\(cache.baseURL)/ready"))?.text.contains(#""status":"degraded""#)) ?? false
            }
        )
        let ready = try await HTTP.get("\(cache.baseURL)/ready")
        #expect(ready.status == 200)
        let put = try await HTTP.send(
            .PUT,
            "\(cache.baseURL)/v1/entries/outage/k",
            headers: admin + [("Content-Type", "text/plain")],
            body: "during"
        )
        #expect(put.status == 200)
        struct Written: Decodable { var tiers: [String] }
        #expect(try WedSyncJSON.makeDecoder().decode(Written.self, from: put.data).tiers == ["L1"])
        let read = try await HTTP.get("\(cache.baseURL)/v1/entries/outage/k", headers: admin)
        #expect(read.status == 200 && read.text == "during")
        #expect(
            try await HTTP.get("\(cache.baseURL)/v1/entries/outage/missing", headers: admin).status == 404,
            "a miss is a miss, not an error"
        )
        let invalidation = try await HTTP.send(
            .POST,
            "\(cache.baseURL)/v1/invalidations",
            headers: admin,
            body: #"{"tags":["t"]}"#
        )
        #expect(invalidation.status == 200 && invalidation.text.contains(#""propagated":false"#))

        try await redis.start()
        #expect(
            await eventually(timeout: .seconds(15)) {
                ((try? await HTTP.get("\(cache.baseURL)/ready"))?.text.contains(#""status":"ready""#)) ?? false
            }
        )
        #expect(
            await eventually(timeout: .seconds(15)) {
                guard
                    let put = try? await HTTP.send(
                        .PUT,
                        "\(cache.baseURL)/v1/entries/outage/after",
                        headers: admin,
                        body: "back"
                    )
                else { return false }
                return put.text.contains("L2")
            }
        )
        try await cache.terminate()
    }
}
