import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WedSyncMetrics
import WedSyncModels
import WedSyncTestSupport

/// The dashboard in a real headless Chromium (Debian's `chromium`): the page draws its charts from real figures,
/// escapes what events carry, and the live stream sends figures. The screenshot is kept as a test artifact.
@Suite("Metrics service: dashboard in headless Chromium, live stream", .serialized)
struct MetricsDashboardTests {
    static let tag = UUID().uuidString.prefix(8)
    static let chromium = "/usr/bin/chromium"

    /// Where test artifacts go: `WEDSYNC_TEST_ARTIFACTS`, or `.build/test-artifacts` in the repository.
    static func artifactsDirectory() throws -> URL {
        let repository = URL(fileURLWithPath: try TestEnvironment.scriptsDirectory()).deletingLastPathComponent()
        let directory =
            ProcessInfo.processInfo.environment["WEDSYNC_TEST_ARTIFACTS"].map { URL(fileURLWithPath: $0) }
            ?? repository.appendingPathComponent(".build/test-artifacts")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Ten minutes of traffic: API calls on four routes (one with a hostile name), statements, cache lookups per tier.
    static func traffic(now: Date) throws -> [String] {
        var generator = SystemRandomNumberGenerator()
        let routes = [
            "/api/clients", "/api/clients/{id}", "/api/weddings/{id}/timeline",
            "/api/</script><img src=x onerror=alert(1)>-\(tag)",
        ]
        return try (0..<10).map { batch in
            var events: [MetricEvent] = []
            for index in 0..<400 {
                let at = now.addingTimeInterval(-Double(batch * 60) - Double.random(in: 0..<60, using: &generator))
                let route = routes[index % routes.count]
                let duration = exp(3 + 0.6 * Double.random(in: -2...2, using: &generator))
                events.append(
                    .apiCall(
                        APICallEvent(
                            timestamp: at,
                            route: route,
                            method: "GET",
                            status: index % 40 == 0 ? 503 : 200,
                            durationMs: duration,
                            cache: index % 4 == 0 ? .miss : .hit
                        )
                    )
                )
                if index % 3 == 0 {
                    events.append(
                        .databaseQuery(
                            DatabaseQueryEvent(
                                timestamp: at,
                                fingerprint: "SELECT * FROM clients WHERE organization_id = $1",
                                durationMs: duration / 8,
                                rows: 3
                            )
                        )
                    )
                }
                if index % 4 == 0 {
                    events.append(
                        .cacheOperation(
                            CacheOperationEvent(
                                timestamp: at,
                                operation: .get,
                                namespace: "api",
                                tier: index % 8 == 0 ? "L1" : "L2",
                                hit: index % 5 != 0,
                                durationMs: 0.3
                            )
                        )
                    )
                }
            }
            return String(
                decoding: try WedSyncJSON.makeEncoder().encode(MetricEventBatch(events: events)),
                as: UTF8.self
            )
        }
    }

    @Test("Chromium draws every chart from real figures; event text is escaped; the screenshot is kept")
    func dashboardInChromium() async throws {
        #expect(
            FileManager.default.isExecutableFile(atPath: Self.chromium),
            "Debian's chromium is installed by scripts/test"
        )
        let service = try ServiceProcess(
            "wedsync-metrics",
            environment: ["WEDSYNC_METRICS_DATABASE": MetricsServiceTests.databasePath(), "WEDSYNC_LOG_LEVEL": "error"]
        )
        try await service.waitUntil("/ready")
        for batch in try Self.traffic(now: Date()) {
            #expect(try await MetricsServiceTests.post(service, batch).status == 200)
        }

        let page = try await HTTP.get(service.baseURL + "/", headers: TestCredentials.asMonitor)
        #expect(page.status == 200)
        #expect(page.headers.first { $0.0.lowercased() == "content-type" }?.1.hasPrefix("text/html") == true)
        for external in ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "@import", "url(http"] {
            #expect(!page.text.contains(external), "the page loads nothing from elsewhere (\(external))")
        }
        #expect(!page.text.contains("</script><img"), "inlined figures cannot close the script")

        let flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
            "--window-size=412,1900",
        ]
        // A browser opens the dashboard with the monitor token as the password of HTTP Basic.
        let dashboard = "http://monitor:\(TestCredentials.monitor)@127.0.0.1:\(service.port)/"
        let anonymousDOM = try await run(Self.chromium, flags + ["--dump-dom", service.baseURL + "/"])
        #expect(!anonymousDOM.output.contains("chart-latency"), "no dashboard without the monitor token")
        let dom = try await run(Self.chromium, flags + ["--dump-dom", dashboard])
        #expect(dom.status == 0)
        func points(_ id: String) -> Int? {
            guard let range = dom.output.range(of: "id=\"\(id)\"") else { return nil }
            let tag = dom.output[dom.output[..<range.lowerBound].lastIndex(of: "<")!...].prefix { $0 != ">" }
            guard let value = tag.range(of: "data-points=\"") else { return nil }
            return Int(tag[value.upperBound...].prefix { $0.isNumber })
        }
        for chart in ["chart-latency", "chart-rate", "chart-errors"] {
            #expect((points(chart) ?? 0) >= 30, "\(chart) drew \(points(chart) ?? 0) points")
        }
        #expect(points("cache-tiers") == 3, "L1, L2 and the responses' tier")
        #expect(
            dom.output.contains("SELECT * FROM clients WHERE organization_id = $1"),
            "the slowest statement is listed"
        )
        #expect(dom.output.contains("&lt;/script&gt;&lt;img src=x"), "a route's text is shown as text")
        #expect(!dom.output.contains("<img src=\"x\""), "and never becomes an element")

        let screenshot = try Self.artifactsDirectory().appendingPathComponent("metrics-dashboard.png")
        try? FileManager.default.removeItem(at: screenshot)
        let shot = try await run(Self.chromium, flags + ["--screenshot=\(screenshot.path)", dashboard])
        #expect(shot.status == 0, "\(shot.output.suffix(500))")
        let png = try Data(contentsOf: screenshot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG")
        #expect(png.count > 60_000, "a drawn page, not a blank one (\(png.count) bytes)")
        try await service.terminate()
    }

    @Test("/v1/stream sends figures at once and again every interval, as Server-Sent Events")
    func stream() async throws {
        let service = try ServiceProcess(
            "wedsync-metrics",
            environment: [
                "WEDSYNC_METRICS_DATABASE": MetricsServiceTests.databasePath(),
                "WEDSYNC_METRICS_STREAM_INTERVAL_MS": "200", "WEDSYNC_LOG_LEVEL": "error",
            ]
        )
        try await service.waitUntil("/ready")
        #expect(
            try await MetricsServiceTests.post(
                service,
                MetricsServiceTests.batch(route: "/api/live-\(Self.tag)", durations: [12, 14, 16, 500])
            ).status == 200
        )
        var request = HTTPClientRequest(url: service.baseURL + "/v1/stream")
        request.headers.add(name: "accept", value: "text/event-stream")
        request.headers.add(name: "authorization", value: "Bearer \(TestCredentials.monitor)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        #expect(response.status.code == 200)
        #expect(response.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
        var text = ""
        var events: [LiveFigures] = []
        for try await chunk in response.body {
            text += String(buffer: chunk)
            while let end = text.range(of: "\n\n") {
                let message = text[..<end.lowerBound]
                text = String(text[end.upperBound...])
                guard message.hasPrefix("event: figures\n"),
                    let data = message.split(separator: "\n").first(where: { $0.hasPrefix("data: ") })
                else { continue }
                events.append(
                    try WedSyncJSON.makeDecoder().decode(LiveFigures.self, from: Data(data.dropFirst(6).utf8))
                )
            }
            if events.count >= 3 { break }
        }
        #expect(events.count == 3)
        let first = try #require(events.first)
        #expect(first.history.count == 60, "ten minutes of 10-second points")
        #expect(first.routes.first { $0.route == "/api/live-\(Self.tag)" }?.count == 4)
        #expect(first.overall.count == 4 && first.overall.errorRate == 0.25)
        #expect(events[2].at > events[0].at)
        try await service.terminate()
    }
}
