import Foundation
import NIOHTTP1
import Testing
import WedSyncMetrics
import WedSyncModels
import WedSyncTestSupport

/// Budgets, release markers with regressions, and the capacity forecast, over HTTP on a real metrics process; and
/// the budget check on the command line, as CI runs it.
@Suite("Metrics service: budgets and their CLI check, releases and regressions, capacity", .serialized)
struct MetricsAnalysisServiceTests {
    static let tag = UUID().uuidString.prefix(8)

    static func events(route: String, durations: [Double], from: Date, seconds: Double) -> String {
        let events = durations.enumerated().map { index, duration -> MetricEvent in
            let at = from.addingTimeInterval(seconds * Double(index) / Double(durations.count))
            return .apiCall(APICallEvent(timestamp: at, route: route, method: "GET", status: 200, durationMs: duration))
        }
        return String(decoding: try! WedSyncJSON.makeEncoder().encode(MetricEventBatch(events: events)), as: UTF8.self)
    }

    @Test(
        "A breached budget shows in /v1/budgets, and check-budgets exits 1 naming it; within budget it exits 0; unreachable, 2"
    )
    func budgetsAndCheck() async throws {
        let fast = "/api/fast-\(Self.tag)"
        let slow = "/api/slow-\(Self.tag)"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("budgets-\(Self.tag).yaml").path
        try """
        range: 1h
        budgets:
          - {route: \(fast), method: GET, p95: 100, error-rate: 0.01}
          - {route: \(slow), method: GET, p95: 100, p99: 400}
          - {route: /api/idle-\(Self.tag), p95: 100}
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let service = try ServiceProcess(
            "wedsync-metrics",
            environment: [
                "WEDSYNC_METRICS_DATABASE": MetricsServiceTests.databasePath(), "WEDSYNC_METRICS_BUDGETS_FILE": file,
                "WEDSYNC_LOG_LEVEL": "error",
            ]
        )
        try await service.waitUntil("/ready")
        let start = Date().addingTimeInterval(-600)
        #expect(
            try await MetricsServiceTests.post(
                service,
                Self.events(route: fast, durations: (0..<200).map { 10 + Double($0 % 40) }, from: start, seconds: 500)
            ).status == 200
        )
        #expect(
            try await MetricsServiceTests.post(
                service,
                Self.events(
                    route: slow,
                    durations: (0..<200).map { 50 + Double($0 % 100) * 3 },
                    from: start,
                    seconds: 500
                )
            ).status == 200
        )
        let report = try WedSyncJSON.makeDecoder().decode(
            BudgetReport.self,
            from: try await HTTP.get(service.baseURL + "/v1/budgets", headers: TestCredentials.asMonitor).data
        )
        #expect(report.budgets.map(\.status) == ["ok", "breached", "no_data"])
        #expect(report.breached == 1)
        #expect(report.budgets[1].checks.first { $0.metric == "p95" }?.status == "breached")
        #expect(
            try await HTTP.get(service.baseURL + "/v1/budgets?range=forever", headers: TestCredentials.asMonitor).status
                == 400
        )

        let binary = try TestEnvironment.binDirectory() + "/wedsync-metrics"
        let monitor = ["WEDSYNC_MONITOR_TOKEN": TestCredentials.monitor]
        let anonymous = try await run(binary, ["check-budgets", "--url", service.baseURL])
        #expect(
            anonymous.status == 2 && anonymous.output.contains("401"),
            "budgets are monitoring data: \(anonymous.output)"
        )
        let breached = try await run(binary, ["check-budgets", "--url", service.baseURL], environment: monitor)
        #expect(breached.status == 1, "\(breached.output)")
        #expect(breached.output.contains("FAIL GET \(slow) p95"))
        #expect(breached.output.contains("ok   GET \(fast) p95"))
        let onlyFast = FileManager.default.temporaryDirectory.appendingPathComponent("budgets-fast-\(Self.tag).yaml")
            .path
        try "budgets: [{route: \(fast), method: GET, p95: 100, p99: 100}]".write(
            toFile: onlyFast,
            atomically: true,
            encoding: .utf8
        )
        let holds = try await run(
            binary,
            ["check-budgets", "--url", service.baseURL, "--file", onlyFast],
            environment: monitor
        )
        #expect(holds.status == 0, "\(holds.output)")
        #expect(holds.output.contains("every budget holds"))
        let strict = try await run(
            binary,
            ["check-budgets", "--url", service.baseURL, "--fail-on-no-data"],
            environment: monitor
        )
        #expect(strict.output.contains("FAIL * /api/idle-\(Self.tag): no requests"))
        #expect(try await run(binary, ["check-budgets", "--url", "http://127.0.0.1:9"]).status == 2)
        #expect(try await run(binary, ["check-budgets", "--bogus"]).status == 2)
        try await service.terminate()
    }

    @Test(
        "After a release marker, a route that slowed is reported regressed with its effect size; markers need the admin token"
    )
    func releaseRegression() async throws {
        let route = "/api/released-\(Self.tag)"
        let steady = "/api/steady-\(Self.tag)"
        let service = try ServiceProcess(
            "wedsync-metrics",
            environment: [
                "WEDSYNC_METRICS_DATABASE": MetricsServiceTests.databasePath(),
                "WEDSYNC_ADMIN_TOKEN": GatewayProcess.adminToken, "WEDSYNC_LOG_LEVEL": "error",
            ]
        )
        try await service.waitUntil("/ready")
        #expect(
            try await HTTP.get(service.baseURL + "/v1/regressions", headers: TestCredentials.asMonitor).status == 404,
            "no marker yet"
        )
        let release = Date().addingTimeInterval(-300)
        let durations = MetricsAggregationSamples.lognormal(600)
        for (name, factor) in [(route, 1.6), (steady, 1.0)] {
            #expect(
                try await MetricsServiceTests.post(
                    service,
                    Self.events(route: name, durations: durations, from: release.addingTimeInterval(-300), seconds: 290)
                ).status == 200
            )
            #expect(
                try await MetricsServiceTests.post(
                    service,
                    Self.events(
                        route: name,
                        durations: durations.reversed().map { $0 * factor },
                        from: release.addingTimeInterval(10),
                        seconds: 280
                    )
                ).status == 200
            )
        }
        let body = #"{"version":"2026.12.1","service":"wedsync-api","at":"\#(ISO8601.format(release))"}"#
        #expect(
            try await HTTP.send(
                .POST,
                service.baseURL + "/v1/releases",
                headers: [("Content-Type", "application/json")],
                body: body
            ).status == 401
        )
        let marked = try await HTTP.send(
            .POST,
            service.baseURL + "/v1/releases",
            headers: GatewayProcess.admin + [("Content-Type", "application/json")],
            body: body
        )
        #expect(marked.status == 201, "\(marked.text)")
        #expect(
            try await HTTP.send(
                .POST,
                service.baseURL + "/v1/releases",
                headers: GatewayProcess.admin + [("Content-Type", "application/json")],
                body: #"{"version":""}"#
            ).status == 400
        )
        let answer = try await HTTP.get(
            service.baseURL + "/v1/regressions?baseline=release&window=5m",
            headers: TestCredentials.asMonitor
        )
        #expect(answer.status == 200, "\(answer.text)")
        let report = try WedSyncJSON.makeDecoder().decode(RegressionReport.self, from: answer.data)
        #expect(report.release?.version == "2026.12.1")
        let slowed = try #require(report.findings.first { $0.route == route })
        #expect(slowed.regressed && slowed.pValue < 0.001 && slowed.effectSize > 0.147)
        #expect(slowed.baseline.count == 600 && slowed.current.count == 600)
        #expect(report.findings.first { $0.route == steady }?.regressed == false)
        #expect(
            try await HTTP.get(
                service.baseURL + "/v1/regressions?baseline=yesterday",
                headers: TestCredentials.asMonitor
            ).status == 400
        )
        try await service.terminate()
    }

    @Test("/v1/capacity is 404 no_history before any traffic, then a forecast the autoscaler can read")
    func capacity() async throws {
        let service = try ServiceProcess(
            "wedsync-metrics",
            environment: ["WEDSYNC_METRICS_DATABASE": MetricsServiceTests.databasePath(), "WEDSYNC_LOG_LEVEL": "error"]
        )
        try await service.waitUntil("/ready")
        let empty = try await HTTP.get(service.baseURL + "/v1/capacity", headers: TestCredentials.asMonitor)
        #expect(empty.status == 404 && empty.text.contains("no_history"))
        #expect(
            try await MetricsServiceTests.post(
                service,
                Self.events(
                    route: "/api/cap-\(Self.tag)",
                    durations: Array(repeating: 20, count: 900),
                    from: Date().addingTimeInterval(-900),
                    seconds: 880
                )
            ).status == 200
        )
        // The 404 was not kept: the first traffic gives a forecast at once.
        let answer = try await HTTP.get(service.baseURL + "/v1/capacity", headers: TestCredentials.asMonitor)
        #expect(answer.status == 200, "\(answer.text)")
        let forecast = try WedSyncJSON.makeDecoder().decode(CapacityForecast.self, from: answer.data)
        #expect(forecast.weeksOfHistory == 1 && forecast.replicasNeeded >= 1)
        #expect(forecast.routes.first?.route == "/api/cap-\(Self.tag)")
        try await service.terminate()
    }
}

/// Log-normal latencies around 20 ms, deterministic.
enum MetricsAggregationSamples {
    static func lognormal(_ count: Int) -> [Double] {
        (0..<count).map { index in
            // A deterministic spread: the normal quantiles of (index + 0.5) / count, shuffled by a fixed stride.
            let p = (Double((index * 7_919) % count) + 0.5) / Double(count)
            let t = (-2 * log(min(p, 1 - p))).squareRoot()
            let z =
                (t - (2.515517 + 0.802853 * t + 0.010328 * t * t)
                    / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t))
                * (p < 0.5 ? -1 : 1)
            return exp(3 + 0.6 * z)
        }
    }
}
