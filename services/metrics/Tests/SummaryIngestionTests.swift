import Foundation
import Logging
import Testing
import WedSyncMetrics
import WedSyncModels
import WedSyncServiceKit
import WedSyncTestSupport

/// `api_call_summary` events (what the gateway ships: its calls aggregated per 10-second window) against the same
/// calls sent one `api_call` event each: the metrics service's figures must be the same, exactly.
@Suite("Metrics service: aggregated API calls merge exactly", .serialized)
struct SummaryIngestionTests {
    static let run = UUID().uuidString.prefix(8)

    /// Seeded calls over three routes, three windows, statuses with failures, and every cache result.
    static func calls(seed: UInt64, count: Int, routes: [String], now: Date) -> [APICallEvent] {
        var generator = SeededGenerator(seed: seed)
        let statuses = [200, 200, 200, 200, 304, 404, 503, 500]
        let caches: [CacheResult?] = [.hit, .hit, .hit, .miss, .stale, .revalidated, .bypass, nil]
        return (0..<count).map { _ in
            let route = routes[Int.random(in: 0..<routes.count, using: &generator)]
            // Spread over the current window and the two before it; durations from microseconds to seconds.
            // (Whole milliseconds: the single events travel with millisecond timestamps.)
            let at = Date(
                timeIntervalSince1970: ((now.timeIntervalSince1970 - Double.random(in: 0..<25, using: &generator))
                    * 1000).rounded(.down) / 1000
            )
            let scale = [0.01, 1, 40, 900][Int.random(in: 0..<4, using: &generator)]
            let duration = (Double.random(in: 0.001..<1, using: &generator) * scale * 1000).rounded() / 1000
            return APICallEvent(
                timestamp: at,
                route: route,
                method: Bool.random(using: &generator) ? "GET" : "HEAD",
                status: statuses[Int.random(in: 0..<statuses.count, using: &generator)],
                durationMs: duration,
                cache: caches[Int.random(in: 0..<caches.count, using: &generator)]
            )
        }
    }

    /// The calls through an ``APICallAggregator``, as the gateway counts them.
    static func summaries(of calls: [APICallEvent]) -> [MetricEvent] {
        let delivery = BackgroundDelivery<MetricEvent>(name: "unused", logger: .init(label: "test")) { _ in }
        let aggregator = APICallAggregator(delivery: delivery, logger: .init(label: "test"))
        for call in calls {
            aggregator.record(
                route: call.route,
                method: call.method,
                status: call.status,
                cache: call.cache,
                durationMs: call.durationMs,
                at: call.timestamp
            )
        }
        return aggregator.drain()
    }

    @Test("The buckets of the summaries equal the buckets of the single events, field by field")
    func sameBuckets() throws {
        let calls = Self.calls(seed: 7, count: 20_000, routes: ["/a", "/b/{id}", "/c"], now: Date())
        let summaries = Self.summaries(of: calls)
        #expect(summaries.count < 1_000, "\(summaries.count) summaries for 20,000 calls")
        #expect(summaries.allSatisfy { $0.problem == nil })
        let single = Aggregator().deltas(of: calls.map { .apiCall($0) })
        let merged = Aggregator().deltas(of: summaries)
        #expect(single.count == merged.count)
        for (key, bucket) in single {
            let other = try #require(merged[key], "\(key) missing from the summaries' buckets")
            #expect(bucket.count == other.count)
            #expect(bucket.errors == other.errors)
            #expect(bucket.cacheLookups == other.cacheLookups)
            #expect(bucket.cacheHits == other.cacheHits)
            #expect(bucket.durations == other.durations, "\(key): the durations differ")
        }
    }

    @Test("Two real metrics services, one fed single events and one fed summaries, give the same summary")
    func sameSummaryOverHTTP() async throws {
        let single = try await MetricsServiceTests.start(database: MetricsServiceTests.databasePath())
        let merged = try await MetricsServiceTests.start(database: MetricsServiceTests.databasePath())
        let routes = ["/api/differential-\(Self.run)/a", "/api/differential-\(Self.run)/b/{id}"]
        let calls = Self.calls(seed: 11, count: 6_000, routes: routes, now: Date())
        let encoder = WedSyncJSON.makeEncoder()
        for start in stride(from: 0, to: calls.count, by: 1_000) {
            let batch = MetricEventBatch(events: calls[start..<start + 1_000].map { .apiCall($0) })
            let answer = try await MetricsServiceTests.post(
                single,
                String(decoding: try encoder.encode(batch), as: UTF8.self)
            )
            #expect(answer.status == 200, "\(answer.text)")
        }
        let summaries = Self.summaries(of: calls)
        let answer = try await MetricsServiceTests.post(
            merged,
            String(decoding: try encoder.encode(MetricEventBatch(events: summaries)), as: UTF8.self)
        )
        #expect(answer.status == 200, "\(answer.text)")
        #expect(answer.text == #"{"accepted":\#(summaries.count)}"#)
        for range in ["15m", "1h"] {
            func series(_ service: ServiceProcess) async throws -> [SeriesSummary] {
                let answer = try await HTTP.get(
                    service.baseURL + APIPath.Metrics.summary + "?range=\(range)",
                    headers: TestCredentials.asMonitor
                )
                return try WedSyncJSON.makeDecoder().decode(MetricsSummary.self, from: answer.data).series.filter {
                    routes.contains($0.route)
                }.sorted { ($0.route, $0.method) < ($1.route, $1.method) }
            }
            let expected = try await series(single)
            #expect(expected.count == 4)
            #expect(expected.reduce(0) { $0 + $1.count } == calls.count)
            #expect(try await series(merged) == expected)
        }
        _ = try await single.terminate()
        _ = try await merged.terminate()
    }

    @Test("A summary whose count is not its calls, or with a bad pair, is refused with a 400 naming the field")
    func refusals() async throws {
        let service = try await MetricsServiceTests.start(database: MetricsServiceTests.databasePath())
        let stamp = ISO8601.format(Date())
        let cases: [(String, String)] = [
            (#""count":3,"durationsUs":[[10,1],[20,1]]"#, "events[0].count"),
            (#""count":1,"durationsUs":[[0,1]]"#, "events[0].durationsUs[0]"),
            (#""count":1,"durationsUs":[[10,1,5]]"#, "events[0].durationsUs[0]"),
            (#""count":0,"durationsUs":[]"#, "events[0].durationsUs"),
        ]
        for (fields, named) in cases {
            let body =
                #"{"events":[{"type":"api_call_summary","timestamp":"\#(stamp)","route":"/a","method":"GET","statusClass":2,"cache":"HIT",\#(fields)}]}"#
            let answer = try await MetricsServiceTests.post(service, body)
            #expect(answer.status == 400, "\(fields): \(answer.text)")
            #expect(answer.text.contains(named), "\(fields): \(answer.text)")
        }
        _ = try await service.terminate()
    }
}
