import Foundation
import Logging
import NIOHTTP1
import Synchronization
import Testing
import WedSyncCacheKit
import WedSyncModels
import WedSyncServiceKit
import WedSyncTestSupport

@testable import WedSyncCacheService

/// Warming jobs and CDN purges of a real `wedsync-cache` process, against a local origin and purge receiver.
@Suite("wedsync-cache warming and CDN purge", .serialized, .timeLimit(.minutes(2)))
struct CacheWarmingTests {
    static let token = CacheServiceTests.token
    var admin: [(String, String)] { [("Authorization", "Bearer \(Self.token)")] }

    /// A cache service serving `namespaces`, allowed to fetch from `origins` only.
    func start(namespaces: [String] = ["n"], origins: [String] = [], _ extra: [String: String] = [:]) async throws
        -> ServiceProcess
    {
        var environment = [
            "WEDSYNC_REDIS_URL": try TestEnvironment.redisURL(),
            "WEDSYNC_CACHE_NAMESPACES": namespaces.joined(separator: ","),
        ]
        if !origins.isEmpty { environment["WEDSYNC_OUTBOUND_ALLOWED_ORIGINS"] = origins.joined(separator: ",") }
        environment.merge(extra) { _, new in new }
        let process = try ServiceProcess("wedsync-cache", environment: environment)
        try await process.waitUntil("/ready")
        return process
    }

    func job(_ process: ServiceProcess, _ id: String) async throws -> WarmJob {
        try WedSyncJSON.makeDecoder().decode(
            WarmJob.self,
            from: try await HTTP.get("\(process.baseURL)/v1/jobs/\(id)", headers: TestCredentials.asMonitor).data
        )
    }

    func finished(_ process: ServiceProcess, _ id: String) async throws -> WarmJob {
        var current = try await job(process, id)
        let deadline = ContinuousClock.now + .seconds(30)
        while [.queued, .running].contains(current.state), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            current = try await job(process, id)
        }
        return current
    }

    @Test("A job warms URLs at bounded concurrency with their Cache-Tag tags and TTL; failures are counted, not fatal")
    func warmURLs() async throws {
        let origin = try await HTTPReceiver()
        let namespace = uniqueNamespace("warm")
        let cache = try await start(namespaces: [namespace], origins: [origin.baseURL])
        let urls = (1...40).map { "\(origin.baseURL)/item/\($0)" } + ["\(origin.baseURL)/missing"]
        let body = try String(
            decoding: WedSyncJSON.makeEncoder().encode(
                WarmRequest(
                    namespace: namespace,
                    urls: urls,
                    headers: ["Authorization": "Bearer supplier-token"],
                    concurrency: 4
                )
            ),
            as: UTF8.self
        )
        let started = try await HTTP.send(.POST, "\(cache.baseURL)/v1/warm", headers: admin, body: body)
        #expect(started.status == 202, "\(started.text)")
        let job = try WedSyncJSON.makeDecoder().decode(WarmJob.self, from: started.data)
        #expect(job.total == 41)
        let done = try await finished(cache, job.id)
        #expect(done.state == .completed)
        #expect(done.succeeded == 40 && done.failed == 1)
        #expect(done.errors == ["/missing: HTTP 404"])
        #expect(done.bytes > 0)
        // The job's own requests (a port freed by another test may still get a stray probe, a health check say).
        let warmed = origin.requests.filter {
            $0["method"] == "GET" && ($0["path"]?.hasPrefix("/item/") == true || $0["path"] == "/missing")
        }
        #expect(warmed.count >= 41)
        #expect(warmed.allSatisfy { $0["authorization"] == "Bearer supplier-token" })

        let hit = try await HTTP.get("\(cache.baseURL)/v1/entries/\(namespace)/%2Fitem%2F7", headers: admin)
        #expect(hit.status == 200)
        #expect(hit.text == #"{"item": 7}"#)
        #expect(hit.headers.first(name: "x-cache-tier") == "L1")
        // The origin's Cache-Tag became the entries' tags.
        _ = try await HTTP.send(
            .POST,
            "\(cache.baseURL)/v1/invalidations",
            headers: admin,
            body: #"{"tags":["group:1"]}"#
        )
        #expect(
            try await HTTP.get("\(cache.baseURL)/v1/entries/\(namespace)/%2Fitem%2F7", headers: admin).status == 404
        )
        #expect(
            try await HTTP.get("\(cache.baseURL)/v1/entries/\(namespace)/%2Fitem%2F8", headers: admin).status == 200
        )
        // The job never echoes the headers it was given.
        #expect(
            !(try await HTTP.get("\(cache.baseURL)/v1/jobs", headers: TestCredentials.asMonitor).text.contains(
                "supplier-token"
            ))
        )
        try await cache.terminate()
    }

    @Test("Keys with a loader URL, and a key pattern over what L2 holds")
    func warmKeys() async throws {
        let origin = try await HTTPReceiver()
        let namespace = uniqueNamespace("warm")
        let cache = try await start(namespaces: [namespace], origins: [origin.baseURL])
        let keys = (1...10).map(String.init)
        let request = WarmRequest(namespace: namespace, keys: keys, loaderURL: "\(origin.baseURL)/item/{key}")
        let started = try await HTTP.send(
            .POST,
            "\(cache.baseURL)/v1/warm",
            headers: admin,
            body: String(decoding: try WedSyncJSON.makeEncoder().encode(request), as: UTF8.self)
        )
        let first = try await finished(cache, try WedSyncJSON.makeDecoder().decode(WarmJob.self, from: started.data).id)
        #expect(first.succeeded == 10)
        #expect(
            try await HTTP.get("\(cache.baseURL)/v1/entries/\(namespace)/3", headers: admin).text == #"{"item": 3}"#
        )

        let rewarm = WarmRequest(namespace: namespace, pattern: "1*", loaderURL: "\(origin.baseURL)/item/{key}")
        let again = try await HTTP.send(
            .POST,
            "\(cache.baseURL)/v1/warm",
            headers: admin,
            body: String(decoding: try WedSyncJSON.makeEncoder().encode(rewarm), as: UTF8.self)
        )
        let second = try await finished(cache, try WedSyncJSON.makeDecoder().decode(WarmJob.self, from: again.data).id)
        #expect(second.total == 2, "keys 1 and 10")
        #expect(second.succeeded == 2)
        try await cache.terminate()
    }

    @Test("A job can be cancelled: no new fetch starts")
    func cancel() async throws {
        let origin = try await HTTPReceiver()
        let namespace = uniqueNamespace("warm")
        let cache = try await start(namespaces: [namespace], origins: [origin.baseURL])
        // Each fetch takes half a second: the 200 would take 50 s, so a job stopped at once has done a handful.
        let urls = (1...200).map { "\(origin.baseURL)/item/\($0)?delay=500" }
        let request = WarmRequest(namespace: namespace, urls: urls, concurrency: 2)
        let started = try await HTTP.send(
            .POST,
            "\(cache.baseURL)/v1/warm",
            headers: admin,
            body: String(decoding: try WedSyncJSON.makeEncoder().encode(request), as: UTF8.self)
        )
        let id = try WedSyncJSON.makeDecoder().decode(WarmJob.self, from: started.data).id
        #expect(await eventually(timeout: .seconds(30)) { ((try? await job(cache, id))?.succeeded ?? 0) >= 2 })
        let cancelled = try await HTTP.send(.DELETE, "\(cache.baseURL)/v1/jobs/\(id)", headers: admin)
        #expect(cancelled.status == 200)
        let done = try WedSyncJSON.makeDecoder().decode(WarmJob.self, from: cancelled.data)
        #expect(done.state == .cancelled)
        #expect(done.succeeded < 50)
        // Cancelled and forgotten: no longer listed, and its id answers 404.
        #expect(try await HTTP.get("\(cache.baseURL)/v1/jobs/\(id)", headers: TestCredentials.asMonitor).status == 404)
        // At most the fetches the job had already decided on (its concurrency, 2) arrive after the answer. The origin
        // logs a fetch when it answers it, half a second after it began: one begun after the cancellation would show
        // within the pause.
        let fetched = origin.requests.count
        try await Task.sleep(for: .milliseconds(1500))
        #expect(origin.requests.count <= fetched + 2, "no new fetch started after the cancellation")
        try await cache.terminate()
    }

    @Test("Bad warming requests are 400s naming the field; unknown jobs 404")
    func badRequests() async throws {
        let cache = try await start(namespaces: ["n"], origins: ["http://x"])
        for (body, code) in [
            (#"{"namespace":"n"}"#, "invalid_body"),
            (#"{"namespace":"bad ns","urls":["http://x/1"]}"#, "unknown_namespace"),
            (#"{"namespace":"n","urls":["ftp://x/1"]}"#, "invalid_body"),
            (#"{"namespace":"n","keys":["a"],"loaderURL":"http://x/no-placeholder"}"#, "invalid_body"),
            (#"{"namespace":"n","keys":["a"]}"#, "invalid_body"),
            (#"{"namespace":"n","urls":["http://x/1"],"concurrency":0}"#, "invalid_body"),
            (#"{"namespace":"n","urls":["http://x/1"],"headers":{"X Bad":"v"}}"#, "invalid_body"),
            (#"{"urls":["http://x/1"]}"#, "invalid_body"),
        ] {
            let answer = try await HTTP.send(.POST, "\(cache.baseURL)/v1/warm", headers: admin, body: body)
            #expect(answer.status == 400, "\(body): \(answer.text)")
            #expect(
                (try? WedSyncJSON.makeDecoder().decode(ErrorEnvelope.self, from: answer.data))?.error.code == code,
                "\(body): \(answer.text)"
            )
        }
        #expect(
            try await HTTP.send(.POST, "\(cache.baseURL)/v1/warm", body: #"{"namespace":"n","urls":["http://x/1"]}"#)
                .status == 401
        )
        #expect(try await HTTP.get("\(cache.baseURL)/v1/jobs/nope", headers: TestCredentials.asMonitor).status == 404)
        // A caller-named address outside the allowed origins is refused before any connection; so is a namespace
        // the service does not serve, and the gateway's above all.
        for (body, code) in [
            (#"{"namespace":"n","urls":["http://192.0.2.7/1"]}"#, "origin_not_allowed"),
            (#"{"namespace":"n","keys":["a"],"loaderURL":"http://x:8081/{key}"}"#, "origin_not_allowed"),
            (#"{"namespace":"n","requests":[{"key":"a","url":"https://x/1"}]}"#, "origin_not_allowed"),
            (#"{"namespace":"elsewhere","urls":["http://x/1"]}"#, "unknown_namespace"),
            (#"{"namespace":"gw","urls":["http://x/1"]}"#, "unknown_namespace"),
        ] {
            let answer = try await HTTP.send(.POST, "\(cache.baseURL)/v1/warm", headers: admin, body: body)
            #expect(answer.status == 400, "\(body): \(answer.text)")
            #expect(
                (try? WedSyncJSON.makeDecoder().decode(ErrorEnvelope.self, from: answer.data))?.error.code == code,
                "\(body): \(answer.text)"
            )
        }
        try await cache.terminate()
    }

    @Test("Invalidated tags are purged from the CDN by surrogate key, retried until the endpoint accepts")
    func cdnPurge() async throws {
        let cdn = try await HTTPReceiver(failFirstPosts: 2)
        let cache = try await start([
            "WEDSYNC_CACHE_CDN_PURGE_URL": "\(cdn.baseURL)/purge", "WEDSYNC_CACHE_CDN_TOKEN": "cdn-secret",
        ])
        let answer = try await HTTP.send(
            .POST,
            "\(cache.baseURL)/v1/invalidations",
            headers: admin,
            body: #"{"tags":["client:42","org:1"]}"#
        )
        #expect(answer.status == 200)
        #expect(await eventually(timeout: .seconds(10)) { cdn.requests.contains { $0["status"] == "200" } })
        let posts = cdn.requests.filter { $0["method"] == "POST" }
        #expect(posts.count == 3, "two refusals, then the delivery")
        struct Purge: Decodable { var surrogateKeys: [String] }
        let delivered = try #require(posts.last)
        #expect(
            try JSONDecoder().decode(Purge.self, from: Data((delivered["body"] ?? "").utf8)).surrogateKeys == [
                "client:42", "org:1",
            ]
        )
        #expect(delivered["path"] == "/purge")
        #expect(delivered["authorization"] == "Bearer cdn-secret")
        #expect(!cache.log.contains("cdn-secret"))
        try await cache.terminate()
    }
}

@Suite("Scheduled warming", .timeLimit(.minutes(1)))
struct ScheduledWarmingTests {
    @Test("A cron schedule starts its job when it fires, with the firing day in its URLs")
    func firesOnTime() async throws {
        let origin = try await HTTPReceiver()
        let cache = MultiTierCache(configuration: .init(ttlJitter: 0), logger: Logger(label: "test"))
        let warmer = Warmer(
            cache: cache,
            namespaces: try ServedNamespaces(["scheduled"]),
            origins: AllowedOrigins([origin.baseURL]),
            maximumValueBytes: 1 << 20,
            logger: Logger(label: "test")
        )
        let schedule = WarmingSchedule(
            name: "every-minute",
            cron: "* * * * *",
            timezone: "UTC",
            warm: WarmRequest(namespace: "scheduled", keys: ["{date}"], loaderURL: "\(origin.baseURL)/item/{key}")
        )
        // The scheduler's clock stands 2 s before a minute when the scheduler first reads it (however late it
        // starts on a loaded machine), and runs on from there.
        let clockStart = Mutex<(real: Date, virtual: Date)?>(nil)
        let clock: @Sendable () -> Date = {
            clockStart.withLock { origin in
                if origin == nil {
                    let now = Date()
                    let minute = (now.timeIntervalSince1970 / 60).rounded(.up) * 60 + 60
                    origin = (now, Date(timeIntervalSince1970: minute - 2))
                }
                return origin!.virtual.addingTimeInterval(Date().timeIntervalSince(origin!.real))
            }
        }
        let scheduler = WarmingScheduler(
            schedules: [(schedule, try CronSchedule(schedule.cron), TimeZone(identifier: "UTC")!)],
            warmer: warmer,
            logger: Logger(label: "test"),
            clock: clock
        )
        let runners = [Task { try await warmer.run() }, Task { try await scheduler.run() }]
        defer { for runner in runners { runner.cancel() } }
        #expect(
            await eventually(timeout: .seconds(15)) {
                warmer.all.first?.state == .completed || warmer.all.first?.state == .failed
            }
        )
        let job = try #require(warmer.all.first)
        #expect(job.name == "every-minute")
        #expect(job.total == 1)
        // The firing day (a date the origin cannot parse as an item) was put in the URL.
        let fired = try #require(clockStart.withLock { $0 }).virtual.addingTimeInterval(2)
        let day = String(ISO8601DateFormatter().string(from: fired).prefix(10))
        #expect(origin.requests.first?["path"] == "/item/\(day)")
    }
}
