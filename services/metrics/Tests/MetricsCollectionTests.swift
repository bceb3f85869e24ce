import Foundation
import NIOHTTP1
import Testing
import WedSyncMetrics
import WedSyncModels
import WedSyncTestSupport

/// What the metrics service gathers by itself, against real processes: the demo API's pool scraped from its
/// `/metrics`, a dead target's `up 0` firing a gauge alert, this host sampled from `/proc`, and the aggregated
/// series exposed on its own `/metrics` (checked by promtool).
@Suite("Metrics service: scraping, host sampling, Prometheus exposition", .serialized)
struct MetricsCollectionTests {
    static let tag = UUID().uuidString.prefix(8)

    @Test("Pools scraped, a dead target alerted on, the host sampled, and every aggregated series on /metrics")
    func collection() async throws {
        let api = try ServiceProcess(
            "wedsync-api",
            environment: [
                "WEDSYNC_ADMIN_TOKEN": GatewayProcess.adminToken,
                "WEDSYNC_DATABASE_URL": try TestEnvironment.databaseURL(), "WEDSYNC_LOG_LEVEL": "error",
            ]
        )
        try await api.waitUntil("/ready")
        let rules = FileManager.default.temporaryDirectory.appendingPathComponent("alerts-collect-\(Self.tag).yaml")
            .path
        try "rules: [{name: Down\(Self.tag), metric: up, condition: '< 1', window: 10s, for: 0s, severity: critical}]"
            .write(toFile: rules, atomically: true, encoding: .utf8)
        let metrics = try ServiceProcess(
            "wedsync-metrics",
            environment: [
                "WEDSYNC_METRICS_DATABASE": MetricsServiceTests.databasePath(),
                "WEDSYNC_METRICS_SCRAPE_TARGETS": "api=\(api.baseURL),ghost=http://127.0.0.1:9",
                "WEDSYNC_METRICS_SCRAPE_INTERVAL_MS": "200", "WEDSYNC_METRICS_SYSTEM_SAMPLE_MS": "200",
                "WEDSYNC_METRICS_ALERTS_FILE": rules,
                "WEDSYNC_METRICS_ALERTS_EVALUATION_MS": "200", "WEDSYNC_LOG_LEVEL": "error",
            ]
        )
        try await metrics.waitUntil("/ready")
        let route = "/api/exposed-\(Self.tag)"
        #expect(
            try await MetricsServiceTests.post(
                metrics,
                MetricsServiceTests.batch(route: route, durations: (1...100).map { Double($0) })
            ).status == 200
        )

        // The ghost never answers: its `up` is 0 and the gauge rule fires for it alone.
        let fired = await eventually(timeout: .seconds(15)) {
            let alerts =
                (try? await HTTP.get(metrics.baseURL + "/v1/alerts", headers: TestCredentials.asMonitor)).flatMap {
                    try? WedSyncJSON.makeDecoder().decode([Alert].self, from: $0.data)
                } ?? []
            return alerts.contains {
                $0.name == "Down\(Self.tag)" && $0.state == .firing && $0.labels["service"] == "ghost"
            }
        }
        #expect(fired)
        let alerts = try WedSyncJSON.makeDecoder().decode(
            [Alert].self,
            from: try await HTTP.get(metrics.baseURL + "/v1/alerts", headers: TestCredentials.asMonitor).data
        )
        #expect(!alerts.contains { $0.labels["service"] == "api" }, "the API answers its scrapes")

        let exposition = await eventually(timeout: .seconds(10)) {
            let text = (try? await HTTP.get(metrics.baseURL + "/metrics"))?.text ?? ""
            return text.contains("wedsync_pool_utilisation_ratio{")
                && text.contains("wedsync_host_cpu_utilisation_ratio{")
        }
        #expect(exposition, "the API's pool and this host's CPU are on /metrics")
        let text = try await HTTP.get(metrics.baseURL + "/metrics").text
        #expect(text.contains("wedsync_route_requests_total{route=\"\(route)\",method=\"GET\"} 100"))
        #expect(text.contains("wedsync_route_errors_total{route=\"\(route)\",method=\"GET\"} 2"))
        #expect(text.contains("wedsync_route_latency_p99_seconds{route=\"\(route)\",method=\"GET\"} 0.099"))
        #expect(text.contains("wedsync_scrape_up{service=\"ghost\"} 0"))
        #expect(text.contains("wedsync_scrape_up{service=\"api\"} 1"))
        #expect(text.contains("wedsync_alerts_firing{alertname=\"Down\(Self.tag)\",severity=\"critical\"} 1"))
        let shares = text.split(separator: "\n").filter {
            $0.hasPrefix("wedsync_host_memory_utilisation_ratio{")
                || $0.hasPrefix("wedsync_host_disk_utilisation_ratio{")
        }
        #expect(shares.count == 2, "memory and disk of this host")
        for line in shares {
            let value = Double(line.split(separator: " ").last ?? "") ?? -1
            #expect(value > 0 && value < 1, "\(line)")
        }
        let promtool = try await run("/usr/bin/promtool", ["check", "metrics"], input: Data(text.utf8))
        #expect(promtool.status == 0, "promtool check metrics: \(promtool.output)")

        // The dashboard's pool figure comes from the scrape.
        let figures = try WedSyncJSON.makeDecoder().decode(
            LiveFigures.self,
            from: try await HTTP.get(metrics.baseURL + "/v1/figures", headers: TestCredentials.asMonitor).data
        )
        #expect(figures.database.poolUtilisation != nil)
        try await metrics.terminate()
        try await api.terminate()
    }
}
