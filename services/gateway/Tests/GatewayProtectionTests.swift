import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WedSyncModels
import WedSyncTestSupport

/// Rate limits shared by every gateway through Redis, wedding-day routes with their own budget, and the metrics a
/// gateway exposes and pushes.
@Suite("Gateway: rate limits and metrics", .serialized)
struct GatewayProtectionTests {
    static let run = UUID().uuidString.prefix(8)

    @Test(
        "A global limit is shared by two gateways: 429 with Retry-After and RateLimit fields; a critical route keeps its own budget"
    )
    func globalLimit() async throws {
        let origin = try await ScriptedOrigin.start(name: "limited")
        origin.set("/rl/\(Self.run)", headers: [("Cache-Control", "no-store")])
        origin.set("/rl/critical/\(Self.run)", headers: [("Cache-Control", "no-store")])
        let routes = """
            upstreams:
              app:
                replicas: ["\(origin.base)"]
            routes:
              - name: timeline-\(Self.run)
                match: /rl/critical/**
                upstream: app
                access: public
                critical: true
                rate-limit: {client: {rate: 0.01, burst: 3}, global: true}
              - name: rest-\(Self.run)
                match: /rl/**
                upstream: app
                access: public
                rate-limit: {client: {rate: 0.01, burst: 3}, global: true}
            """
        // A Redis of its own: the limits' keys are per route bucket and client address, the same in every run.
        let redis = try await PrivateRedis.start()
        let first = try await GatewayProcess.routed(routes, environment: ["WEDSYNC_REDIS_URL": redis.url])
        let second = try await GatewayProcess.routed(routes, environment: ["WEDSYNC_REDIS_URL": redis.url])
        defer {
            Task {
                try? await first.terminate()
                try? await second.terminate()
                try? await redis.stop()
            }
        }
        var statuses: [Int] = []
        for gateway in [first, second, first, second] {
            statuses.append(try await HTTP.get(gateway.baseURL + "/rl/\(Self.run)").status)
        }
        #expect(statuses == [200, 200, 200, 429], "\(statuses)")
        let limited = try await HTTP.get(second.baseURL + "/rl/\(Self.run)")
        #expect(limited.status == 429)
        #expect(limited.text.contains("rate_limited"))
        #expect((limited.headers.first(name: "retry-after").flatMap(Int.init) ?? 0) >= 1)
        #expect(limited.headers.first(name: "ratelimit-limit") == "3")
        #expect(limited.headers.first(name: "ratelimit-remaining") == "0")
        #expect(limited.headers.first(name: "ratelimit-policy")?.contains("scope=client") == true)
        #expect(origin.count("/rl/\(Self.run)") == 3)
        // The wedding-day route is counted apart.
        #expect(try await HTTP.get(first.baseURL + "/rl/critical/\(Self.run)").status == 200)
        await origin.stop()
    }

    @Test("/metrics has per-route counts and latency histograms; the calls reach the metrics service as aggregates")
    func metrics() async throws {
        let origin = try await ScriptedOrigin.start(name: "measured")
        origin.set("/m/\(Self.run)", headers: [("Cache-Control", "max-age=60")])
        let receiver = try await HTTPReceiver()
        let gateway = try await GatewayProcess.plain(
            upstream: origin.base,
            environment: [
                "WEDSYNC_GATEWAY_EVENTS": "true", "WEDSYNC_METRICS_URL": receiver.baseURL,
                "WEDSYNC_GATEWAY_EVENTS_INTERVAL_MS": "200",
            ]
        )
        defer { Task { try? await gateway.terminate() } }
        #expect(try await HTTP.get(gateway.baseURL + "/m/\(Self.run)").status == 200)
        // The answer is stored just after it is sent: ask until the cache answers.
        let hit = await eventually(timeout: .seconds(15)) {
            (try? await HTTP.get(gateway.baseURL + "/m/\(Self.run)"))?.headers.first(name: "x-cache") == "HIT"
        }
        #expect(hit)
        // Hits answered on both event loops at once: the figures of every loop's shard are summed, none lost.
        let hitsBefore = Self.sample(
            try await HTTP.get(gateway.baseURL + "/metrics").text,
            #"gateway_requests_total{route="/**",method="GET",status_class="2xx",cache="HIT"}"#
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<25 { _ = try await HTTP.get(gateway.baseURL + "/m/\(Self.run)") }
                }
            }
            try await group.waitForAll()
        }
        let metrics = try await HTTP.get(gateway.baseURL + "/metrics").text
        let hits = Self.sample(
            metrics,
            #"gateway_requests_total{route="/**",method="GET",status_class="2xx",cache="HIT"}"#
        )
        #expect(hits == hitsBefore + 200)
        #expect(
            Self.sample(metrics, #"gateway_request_duration_seconds_count{route="/**",method="GET",cache="HIT"}"#)
                == hits
        )
        #expect(metrics.contains("gateway_requests_total{"))
        #expect(metrics.contains("route=\"/**\""))
        #expect(metrics.contains("cache=\"HIT\""))
        #expect(metrics.contains("status_class=\"2xx\""))
        #expect(metrics.contains("gateway_request_duration_seconds"))
        #expect(!metrics.contains("/m/\(Self.run)"), "a raw path became a label")
        let delivered = await eventually(timeout: .seconds(15)) {
            receiver.requests.filter { $0["path"] == APIPath.Metrics.events }.compactMap { $0["body"] }.joined()
                .contains("\"cache\":\"HIT\"")
        }
        #expect(delivered)
        let body = receiver.requests.filter { $0["path"] == APIPath.Metrics.events }.compactMap { $0["body"] }.joined()
        #expect(body.contains("\"api_call_summary\""))
        #expect(!body.contains("\"api_call\""), "one event per request was sent")
        #expect(body.contains("\"route\":\"\\/**\"") || body.contains("\"route\":\"/**\""))
        #expect(body.contains("\"durationsUs\":[["))
        #expect(!body.contains("/m/\(Self.run)"), "a raw path reached the metrics service")
        await origin.stop()
    }

    @Test("Every call through the gateway is counted by a real metrics service: route, count, hits and failures")
    func countedByTheMetricsService() async throws {
        let origin = try await ScriptedOrigin.start(name: "counted")
        let run = "counted-\(Self.run)"
        origin.set("/\(run)/page", headers: [("Cache-Control", "max-age=60")])
        origin.set("/\(run)/broken", status: 503, headers: [("Cache-Control", "no-store")])
        let metrics = try await ServiceProcess(
            "wedsync-metrics",
            environment: [
                "WEDSYNC_METRICS_DATABASE": TestEnvironment.temporaryPath("gateway-counted", suffix: ".sqlite3"),
                "WEDSYNC_METRICS_FLUSH_INTERVAL_MS": "200", "WEDSYNC_LOG_LEVEL": "warning",
            ]
        )
        try await metrics.waitUntil("/ready")
        let routes = """
            upstreams:
              origin:
                replicas: ["\(origin.base)"]
            routes:
              - name: counted
                match: "/\(run)/**"
                upstream: origin
                access: public
            """
        let gateway = try await GatewayProcess.routed(
            routes,
            environment: [
                "WEDSYNC_GATEWAY_EVENTS": "true", "WEDSYNC_METRICS_URL": metrics.baseURL,
                "WEDSYNC_GATEWAY_EVENTS_INTERVAL_MS": "200",
            ]
        )
        var sent: [String: Int] = [:]
        for round in 0..<60 {
            let path = round % 4 == 3 ? "/\(run)/broken" : "/\(run)/page"
            let answer = try await HTTP.get(gateway.baseURL + path)
            sent[answer.headers.first(name: "x-cache") ?? "none", default: 0] += 1
            if round == 0 { _ = await eventually(timeout: .seconds(10)) { origin.count("/\(run)/page") == 1 } }
        }
        #expect(sent["HIT", default: 0] > 30, "\(sent)")
        let route = "/\(run)/**"
        let counted = await eventually(timeout: .seconds(30)) {
            guard
                let answer = try? await HTTP.get(
                    metrics.baseURL + "/v1/summary?range=15m",
                    headers: TestCredentials.asMonitor
                ), let summary = try? JSONDecoder().decode(CountedSummary.self, from: answer.data)
            else { return false }
            return summary.series.first { $0.route == route && $0.method == "GET" }?.count == 60
        }
        #expect(counted, "the metrics service did not count the 60 calls")
        let answer = try await HTTP.get(
            metrics.baseURL + "/v1/summary?range=15m",
            headers: TestCredentials.asMonitor
        )
        let series = try #require(
            try JSONDecoder().decode(CountedSummary.self, from: answer.data).series.first {
                $0.route == route
            }
        )
        #expect(series.count == 60)
        #expect(abs(series.errorRate - 15.0 / 60) < 1e-9, "\(series)")
        // 45 lookups of the stored page (one MISS, the rest HITs); the 503s were not stored but were looked up too.
        let hits = Double(sent["HIT", default: 0])
        let lookups = Double(sent["HIT", default: 0] + sent["MISS", default: 0])
        #expect(abs((series.cacheHitRatio ?? -1) - hits / lookups) < 1e-9, "\(series) \(sent)")
        _ = try await gateway.terminate()
        _ = try await metrics.terminate()
        await origin.stop()
    }

    /// The value of the sample named exactly `series` in a `/metrics` text (0 when absent).
    static func sample(_ text: String, _ series: String) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1)) ?? 0
        }
        return 0
    }
}

/// The part of the metrics service's `/v1/summary` the gateway's tests read.
struct CountedSummary: Decodable {
    struct Series: Decodable {
        var route: String
        var method: String
        var count: Int
        var errorRate: Double
        var cacheHitRatio: Double?
    }

    var series: [Series]
}
