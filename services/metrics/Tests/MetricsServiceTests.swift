import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WedSyncMetrics
import WedSyncModels
import WedSyncTestSupport

/// The metrics service as a real process on a SQLite file of its own.
@Suite("Metrics service: durable ingestion, percentiles, queries", .serialized)
struct MetricsServiceTests {
    static let run = UUID().uuidString.prefix(8)

    static func start(database: String, port: Int? = nil) async throws -> ServiceProcess {
        let process = try ServiceProcess(
            "wedsync-metrics",
            port: port,
            environment: [
                "WEDSYNC_METRICS_DATABASE": database, "WEDSYNC_METRICS_FLUSH_INTERVAL_MS": "300",
                "WEDSYNC_LOG_LEVEL": "warning",
            ]
        )
        try await process.waitUntil("/ready")
        return process
    }

    static func databasePath() -> String {
        TestEnvironment.temporaryPath("metrics-test", suffix: ".sqlite3")
    }

    static func batch(route: String, durations: [Double], at date: Date = Date()) -> String {
        let stamp = ISO8601.format(date)
        let events = durations.enumerated().map { index, duration in
            #"{"type":"api_call","timestamp":"\#(stamp)","route":"\#(route)","method":"GET","status":\#(index % 50 == 0 ? 503 : 200),"durationMs":\#(duration),"cache":"\#(index % 4 == 0 ? "MISS" : "HIT")"}"#
        }
        return #"{"events":[\#(events.joined(separator: ","))]}"#
    }

    /// Posts events as the gateway does, with its own service credential.
    static func post(_ service: ServiceProcess, _ body: String, as sender: String = "wedsync-gateway") async throws
        -> HTTP.Answer
    {
        try await HTTP.send(
            .POST,
            service.baseURL + APIPath.Metrics.events,
            headers: [("Content-Type", "application/json")] + TestCredentials.asService(sender),
            body: body
        )
    }

    static func summary(_ service: ServiceProcess, route: String) async throws -> SeriesSummary? {
        let answer = try await HTTP.get(
            service.baseURL + APIPath.Metrics.summary + "?range=1h",
            headers: TestCredentials.asMonitor
        )
        return try WedSyncJSON.makeDecoder().decode(MetricsSummary.self, from: answer.data).series.first {
            $0.route == route
        }
    }

    @Test("Percentiles from the service match the exact percentiles of the same samples within 1%")
    func percentiles() async throws {
        let path = Self.databasePath()
        let service = try await Self.start(database: path)
        let route = "/api/percentiles-\(Self.run)"
        var generator = SeededGenerator(seed: 42)
        let values = (0..<20_000).map { _ in
            (Double.random(in: 0.2..<4, using: &generator) * Double.random(in: 1..<60, using: &generator) * 1000)
                .rounded() / 1000
        }
        for start in stride(from: 0, to: values.count, by: 1000) {
            let answer = try await Self.post(
                service,
                Self.batch(route: route, durations: Array(values[start..<start + 1000]))
            )
            #expect(answer.status == 200, "\(answer.text)")
            #expect(answer.text == #"{"accepted":1000}"#)
        }
        let series = try #require(try await Self.summary(service, route: route))
        #expect(series.count == 20_000)
        let sorted = values.sorted()
        for (percentile, measured) in [(50.0, series.p50Ms), (95, series.p95Ms), (99, series.p99Ms)] {
            let exact = sorted[Int((percentile / 100 * Double(sorted.count)).rounded(.up)) - 1]
            #expect(abs(measured - exact) / exact < 0.01, "p\(percentile): \(measured) against \(exact)")
        }
        #expect(abs(series.errorRate - 0.02) < 0.0001)
        #expect(abs((series.cacheHitRatio ?? 0) - 0.75) < 0.0001)
        let slow = try await HTTP.get(
            service.baseURL + "/v1/endpoints/slow?limit=5",
            headers: TestCredentials.asMonitor
        )
        #expect(slow.status == 200)
        #expect(slow.text.contains(route))
        let points = try await HTTP.get(
            service.baseURL + "/v1/series?metric=p95&route=\(route)&range=1h&step=60",
            headers: TestCredentials.asMonitor
        )
        let decoded = try WedSyncJSON.makeDecoder().decode(MetricSeries.self, from: points.data)
        #expect(decoded.points.count == 60)
        #expect(decoded.points.map(\.count).reduce(0, +) == 20_000)
        try await service.terminate()
        try? FileManager.default.removeItem(atPath: path)
    }

    @Test("A summary of a window (from, to) holds that window's events alone, rounded out to 10-second buckets")
    func window() async throws {
        let path = Self.databasePath()
        let service = try await Self.start(database: path)
        let route = "/api/window-\(Self.run)"
        // Three runs a minute apart, each in a bucket of its own: 100 at 10 ms, 200 at 20 ms, 300 at 30 ms.
        let base = (Int64(Date().timeIntervalSince1970) / 10 - 30) * 10
        for (index, count) in [100, 200, 300].enumerated() {
            let at = Date(timeIntervalSince1970: Double(base + Int64(index) * 60 + 3))
            let body = Self.batch(
                route: route,
                durations: Array(repeating: Double(10 * (index + 1)), count: count),
                at: at
            )
            #expect(try await Self.post(service, body).status == 200)
        }
        func window(_ from: Int64, _ to: Int64) async throws -> SeriesSummary? {
            let answer = try await HTTP.get(
                service.baseURL + APIPath.Metrics.summary + "?from=\(from)&to=\(to)",
                headers: TestCredentials.asMonitor
            )
            #expect(answer.status == 200, "\(answer.text)")
            return try WedSyncJSON.makeDecoder().decode(MetricsSummary.self, from: answer.data).series.first {
                $0.route == route
            }
        }
        // The second run's own seconds, rounded out to its bucket: its 200 requests, its p95.
        let second = try #require(try await window(base + 64, base + 65))
        #expect(second.count == 200 && abs(second.p95Ms - 20) < 0.1, "\(second)")
        // Both later runs; and a window between runs holds nothing of the route.
        let later = try #require(try await window(base + 60, base + 130))
        #expect(later.count == 500)
        #expect(try await window(base + 10, base + 50) == nil)
        try await service.terminate()
        try? FileManager.default.removeItem(atPath: path)
    }

    @Test("SIGKILL right after an acknowledged batch loses none of it; later batches add to what was stored")
    func sigkill() async throws {
        let path = Self.databasePath()
        var service = try await Self.start(database: path)
        let port = service.port
        let route = "/api/durable-\(Self.run)"
        #expect(
            try await Self.post(service, Self.batch(route: route, durations: Array(repeating: 5, count: 500))).status
                == 200
        )
        // Old buckets are let go from memory on the interval: the second batch adds to what storage holds.
        try await Task.sleep(for: .milliseconds(800))
        #expect(
            try await Self.post(service, Self.batch(route: route, durations: Array(repeating: 7, count: 500))).status
                == 200
        )
        await service.kill9()
        service = try await Self.start(database: path, port: port)
        #expect(try await Self.summary(service, route: route)?.count == 1000)
        try await Task.sleep(for: .milliseconds(800))
        #expect(
            try await Self.post(service, Self.batch(route: route, durations: Array(repeating: 9, count: 1))).status
                == 200
        )
        #expect(
            try await Self.summary(service, route: route)?.count == 1001,
            "a batch after the restart did not add to the stored buckets"
        )
        await service.kill9()
        service = try await Self.start(database: path, port: port)
        #expect(try await Self.summary(service, route: route)?.count == 1001)
        try await service.terminate()
        service = try await Self.start(database: path, port: port)
        #expect(
            try await Self.summary(service, route: route)?.count == 1001,
            "a graceful stop and start changed the count"
        )
        try await service.terminate()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    @Test("Bad input is a 400 naming the field, never a 500")
    func badInput() async throws {
        let path = Self.databasePath()
        let service = try await Self.start(database: path)
        let stamp = ISO8601.format(Date())
        for (body, fragment) in [
            (
                #"{"events":[{"type":"api_call","timestamp":"\#(stamp)","route":"/a","method":"GET","status":200,"durationMs":"slow"}]}"#,
                "events[0].durationMs"
            ),
            (
                #"{"events":[{"type":"api_call","timestamp":"yesterday","route":"/a","method":"GET","status":200,"durationMs":1}]}"#,
                "events[0].timestamp"
            ),
            ("{", "invalid_body"),
        ] {
            let answer = try await Self.post(service, body)
            #expect(answer.status == 400)
            #expect(answer.text.contains(fragment), "\(answer.text)")
        }
        for query in [
            "/v1/summary?range=forever", "/v1/summary?range=99999999999999999d", "/v1/summary?range=0h",
            "/v1/summary?from=x&to=100", "/v1/summary?from=-5&to=100", "/v1/summary?to=4102444801",
            "/v1/summary?from=100&to=200&range=forever",
            "/v1/series?metric=p95",
            "/v1/series?metric=nope&route=/a", "/v1/series?metric=p95&route=/a&step=7",
            "/v1/series?metric=p95&route=/a&step=99999999999999999999",
            "/v1/endpoints/slow?limit=0",
        ] {
            let answer = try await HTTP.get(service.baseURL + query, headers: TestCredentials.asMonitor)
            #expect(answer.status == 400, "\(query): \(answer.status)")
            #expect(answer.text.contains("invalid_parameter"))
        }
        // A window is clamped as a range is: one bound alone, a window ending before it starts, one of 130 years,
        // one with a range beside it.
        for query in [
            "from=100", "to=100", "from=200&to=100", "from=100&to=200&range=1h", "from=0&to=4102444800", "from=0&to=0",
        ] {
            let answer = try await HTTP.get(
                service.baseURL + "/v1/summary?\(query)",
                headers: TestCredentials.asMonitor
            )
            #expect(answer.status == 200, "\(query): \(answer.text)")
        }
        // A step longer than the range is the range; one that would give over 2,000 points is made longer.
        for (query, step) in [
            ("range=1h&step=7200", 3_600), ("range=7d&step=10", 310), ("range=999999d&step=60", 17_280),
        ] {
            let answer = try await HTTP.get(
                service.baseURL + "/v1/series?metric=p95&route=/a&\(query)",
                headers: TestCredentials.asMonitor
            )
            #expect(answer.status == 200, "\(query): \(answer.text)")
            #expect(
                try WedSyncJSON.makeDecoder().decode(MetricSeries.self, from: answer.data).stepSeconds == step,
                "\(query)"
            )
        }
        try await service.terminate()
        try? FileManager.default.removeItem(atPath: path)
    }
}
