import Foundation
import HTTPTypes
import Histogram
import Testing
import WedSyncModels
import WedSyncServiceKit
import WedSyncTestSupport

@testable import WedSyncMetrics

/// Buckets, percentiles and validation of the metrics service, without a server.
@Suite("Metrics: buckets, percentiles, validation")
struct MetricsAggregationTests {
    /// Exact percentile by the nearest-rank method.
    static func exact(_ sorted: [Double], _ percentile: Double) -> Double {
        sorted[max(0, Int((percentile / 100 * Double(sorted.count)).rounded(.up)) - 1)]
    }

    static func samples(_ count: Int, seed: UInt64) -> [Double] {
        var generator = SeededGenerator(seed: seed)
        // Log-normal around 20 ms with a long tail, as request latencies are.
        return (0..<count).map { _ in
            let u1 = Double.random(in: Double.ulpOfOne..<1, using: &generator)
            let u2 = Double.random(in: 0..<1, using: &generator)
            let normal = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
            return (exp(3 + 0.9 * normal) * 1000).rounded() / 1000
        }
    }

    @Test("p50, p95, p99 within 1% of the exact values, and the same after storage encoding")
    func percentiles() {
        let values = Self.samples(200_000, seed: 7)
        var bucket = SeriesBucket()
        for value in values { bucket.record(durationMs: value, failed: false, cacheHit: nil) }
        let sorted = values.sorted()
        let decoded = SeriesBucket.decodeDurations(bucket.encodedDurations())
        for percentile in [50.0, 95, 99, 99.9] {
            let exact = Self.exact(sorted, percentile)
            #expect(
                abs(bucket.percentileMs(percentile) - exact) / exact < 0.01,
                "p\(percentile): \(bucket.percentileMs(percentile)) vs \(exact)"
            )
            #expect(abs(Double(decoded.value(atPercentile: percentile)) / 1000 - exact) / exact < 0.01)
        }
    }

    @Test("The sparse slots answer exactly what a full HdrHistogram answers, in a fraction of its memory")
    func sparseMatchesHistogram() {
        let values = Self.samples(50_000, seed: 3)
        var full = Histogram<UInt64>(
            lowestDiscernibleValue: 1,
            highestTrackableValue: SeriesBucket.highestMicros,
            numberOfSignificantValueDigits: .three
        )
        var sparse = SparseDurations()
        for value in values {
            let micros = UInt64(max(1, (value * 1000).rounded()))
            _ = full.record(micros)
            sparse.record(micros)
        }
        for percentile in [0.0, 1, 25, 50, 90, 95, 99, 99.9, 99.99, 100] {
            #expect(sparse.value(atPercentile: percentile) == full.valueAtPercentile(percentile), "p\(percentile)")
        }
        #expect(SparseDurations(decoding: sparse.encoded()) == sparse)
        // A busy 10-second bucket (1,000 requests) takes a few kilobytes, where a full histogram's counts take 188 KB.
        var bucket = SparseDurations()
        for value in values.prefix(1_000) { bucket.record(UInt64(max(1, (value * 1000).rounded()))) }
        #expect(bucket.encoded().count < 16 << 10)
        #expect(SparseDurations(decoding: [1, 2, 3]).total == 0, "a malformed record is empty, not a crash")
    }

    @Test("Events fall into 10-second buckets per series; counts, errors and cache hits add up")
    func folding() {
        let aggregator = Aggregator()
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        var events: [MetricEvent] = []
        for index in 0..<30 {
            let status = index % 10 == 0 ? 503 : 200
            let cache: CacheResult = index % 2 == 0 ? .hit : .miss
            let call = APICallEvent(
                timestamp: start.addingTimeInterval(Double(index)),
                route: "/api/clients",
                method: "GET",
                status: status,
                durationMs: Double(index),
                cache: cache
            )
            events.append(.apiCall(call))
        }
        let all = aggregator.deltas(of: events)
        let buckets = all.filter { $0.key.resolution == 10 }
        #expect(buckets.count == 3)
        #expect(buckets.values.map(\.count).reduce(0, +) == 30)
        #expect(buckets.values.map(\.errors).reduce(0, +) == 3)
        #expect(buckets.values.map(\.cacheHits).reduce(0, +) == 15)
        #expect(buckets.keys.allSatisfy { $0.start % 10 == 0 })
        // Rolled up: the 30 seconds straddle a minute boundary (second 40 of a minute onwards) within one hour.
        let minutes = all.filter { $0.key.resolution == 60 }
        #expect(minutes.count == 2 && minutes.keys.allSatisfy { $0.start % 60 == 0 })
        #expect(minutes.values.map(\.count).reduce(0, +) == 30)
        let hours = all.filter { $0.key.resolution == 3_600 }
        #expect(hours.count == 1 && hours.first?.value.count == 30 && hours.first?.value.errors == 3)
    }

    @Test("Series beyond the bound count as other")
    func seriesBound() {
        let aggregator = Aggregator(maximumSeries: 10)
        let now = Date()
        let series = Set(
            aggregator.deltas(
                of: (0..<20).map {
                    .apiCall(APICallEvent(timestamp: now, route: "/r/\($0)", method: "GET", status: 200, durationMs: 1))
                }
            ).keys.map(\.series.name)
        )
        #expect(series.count == 11)
        #expect(series.contains("other"))
    }

    @Test(
        "A bad event is refused naming its field",
        arguments: [
            (
                #"{"events":[{"type":"api_call","timestamp":"NOW","route":"/a","method":"GET","status":200,"durationMs":"x"}]}"#,
                "events[0].durationMs: expected a number"
            ),
            (
                #"{"events":[{"type":"api_call","timestamp":"NOW","route":"/a","method":"GET","status":200}]}"#,
                "events[0].durationMs: missing"
            ),
            (
                #"{"events":[{"type":"api_call","timestamp":"NOW","route":"/a","method":"GET","status":200,"durationMs":1},{"type":"api_call","timestamp":"NOW","route":"/a","method":"GET","status":700,"durationMs":1}]}"#,
                "events[1].status"
            ),
            (
                #"{"events":[{"type":"api_call","timestamp":"NOW","route":"/a","method":"BREW","status":200,"durationMs":1}]}"#,
                "events[0].method"
            ),
            (
                #"{"events":[{"type":"api_call","timestamp":"NOW","route":"/a","method":"GET","status":200,"durationMs":-1}]}"#,
                "events[0].durationMs"
            ),
            (
                #"{"events":[{"type":"api_call","timestamp":"yesterday","route":"/a","method":"GET","status":200,"durationMs":1}]}"#,
                "events[0].timestamp"
            ),
            (
                #"{"events":[{"type":"api_call","timestamp":"NOW","route":"/a|b","method":"GET","status":200,"durationMs":1}]}"#,
                "events[0].route"
            ),
            (#"{"events":[{"type":"teapot","timestamp":"NOW"}]}"#, "events[0].type"),
            (#"{"events":[]}"#, "events: give at least one"),
            (#"not json"#, "body"),
        ]
    )
    func validation(body: String, message: String) {
        let text = body.replacingOccurrences(of: "NOW", with: ISO8601.format(Date()))
        #expect(throws: ServiceError.self) { try EventValidation.decode(Data(text.utf8)) }
        do {
            _ = try EventValidation.decode(Data(text.utf8))
        } catch {
            #expect(error.status == .badRequest)
            #expect(
                error.message.contains(message) || (message == "body" && error.code == "invalid_body"),
                "\(error.message)"
            )
        }
    }

    @Test("The fast batch reader gives exactly what JSONDecoder gives, and leaves to it what it does not take")
    func fastReader() throws {
        var generator = SeededGenerator(seed: 11)
        let now = Date()
        var events: [MetricEvent] = []
        for index in 0..<2_000 {
            let stamp = Date(
                timeIntervalSince1970: (now.timeIntervalSince1970 * 1000 - Double(index * 137)).rounded() / 1000
            )
            let duration = (Double.random(in: 0..<5_000, using: &generator) * 1000).rounded() / 1000
            switch index % 4 {
            case 0:
                events.append(
                    .apiCall(
                        APICallEvent(
                            timestamp: stamp,
                            route: "/api/r\(index % 7)/{id}",
                            method: ["GET", "POST"][index % 2],
                            status: [200, 404, 503][index % 3],
                            durationMs: duration,
                            cache: index % 5 == 0 ? nil : CacheResult.allCases[index % 5],
                            tenant: index % 3 == 0 ? nil : "\(index)",
                            requestId: index % 2 == 0 ? "req-\(index)" : nil
                        )
                    )
                )
            case 1:
                events.append(
                    .databaseQuery(
                        DatabaseQueryEvent(
                            timestamp: stamp,
                            fingerprint: "SELECT * FROM t WHERE a = $\(index % 3)",
                            durationMs: duration,
                            rows: index,
                            requestId: nil,
                            route: index % 2 == 0 ? "/api/x" : nil
                        )
                    )
                )
            case 2:
                events.append(
                    .cacheOperation(
                        CacheOperationEvent(
                            timestamp: stamp,
                            operation: .get,
                            namespace: "gw",
                            tier: "l1",
                            hit: index % 2 == 0,
                            durationMs: duration
                        )
                    )
                )
            default:
                events.append(
                    .systemSample(
                        SystemSampleEvent(
                            timestamp: stamp,
                            host: "h\(index)",
                            cpuUtilisation: 0.25,
                            memoryUsedBytes: index,
                            memoryTotalBytes: index * 2,
                            diskUsedBytes: 1,
                            diskTotalBytes: 10
                        )
                    )
                )
            }
        }
        let body = Array(try WedSyncJSON.makeEncoder().encode(MetricEventBatch(events: events)))
        let fast = try #require(EventBatchParser.parse(body))
        let slow = try WedSyncJSON.makeDecoder().decode(MetricEventBatch.self, from: Data(body)).events
        #expect(fast == slow)
        // Spacing, other number forms, unknown fields and nulls the reader takes.
        let stamp = ISO8601.format(now)
        let spaced = Array(
            #" { "events" : [ { "type" : "api_call" , "timestamp" : "\#(stamp)" , "route" : "/a" , "method" : "GET" , "status" : 2e2 , "durationMs" : -0 , "x" : 1 , "tenant" : null } ] , "note" : null } "#
                .utf8
        )
        let parsed = try #require(EventBatchParser.parse(spaced))
        #expect(parsed == (try WedSyncJSON.makeDecoder().decode(MetricEventBatch.self, from: Data(spaced))).events)
        // What it leaves to JSONDecoder: escapes, nested values, a wrong type; the result is the same either way.
        for text in [
            #"{"events":[{"type":"api_call","timestamp":"\#(stamp)","route":"/a\/b","method":"GET","status":200,"durationMs":1}]}"#,
            #"{"events":[{"type":"api_call","timestamp":"\#(stamp)","route":"/a","method":"GET","status":200,"durationMs":1,"extra":{"a":[1]}}]}"#,
        ] {
            #expect(EventBatchParser.parse(Array(text.utf8)) == nil)
            let decoded = try EventValidation.decode(Data(text.utf8))
            #expect(
                decoded == (try WedSyncJSON.makeDecoder().decode(MetricEventBatch.self, from: Data(text.utf8))).events
            )
        }
        #expect(
            EventBatchParser.parse(
                Array(
                    #"{"events":[{"type":"api_call","timestamp":"\#(stamp)","route":"/a","method":"GET","status":"200","durationMs":1}]}"#
                        .utf8
                )
            ) == nil
        )
        #expect(EventBatchParser.parse(Array(#"{"events":[]} x"#.utf8)) == nil)
    }
}
