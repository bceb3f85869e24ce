import Foundation
import Testing
import WedSyncModels
import WedSyncTestSupport

@testable import WedSyncMetrics

/// The 1-minute and 1-hour rollups, retention per resolution, and the query planner that reads each stretch of a
/// range at the coarsest resolution covering it.
@Suite("Metrics: rollups, retention, query plans")
struct MetricsRollupTests {
    static func store() throws -> MetricsStore {
        try MetricsStore(
            path: FileManager.default.temporaryDirectory.appendingPathComponent("rollup-\(UUID().uuidString).sqlite3")
                .path,
            synchronous: .normal
        )
    }

    @Test("A plan covers the range exactly, without overlap, and reads whole hours and minutes from the rollups")
    func planCovers() {
        var generator = SeededGenerator(seed: 11)
        let now: Int64 = 1_780_000_000
        for _ in 0..<500 {
            let to = Aggregator.start(of: now - Int64.random(in: 0..<86_400, using: &generator), resolution: 10)
            let from = to - 10 * Int64.random(in: 1..<(6 * 8_640), using: &generator)
            let keepAll = RetentionPolicy(tenSeconds: .seconds(30 * 86_400), oneMinute: .seconds(30 * 86_400))
            let segments = MetricsQueries.plan(from: from, to: to, now: now, retention: keepAll)
            let sorted = segments.sorted { $0.from < $1.from }
            #expect(sorted.first?.from == from && sorted.last?.to == to)
            for (left, right) in zip(sorted, sorted.dropFirst()) { #expect(left.to == right.from, "\(segments)") }
            #expect(
                segments.allSatisfy { $0.from % $0.resolution == 0 && $0.to % $0.resolution == 0 && $0.from < $0.to }
            )
            // No more than two partial stretches per finer resolution.
            #expect(
                segments.filter { $0.resolution == 10 }.count <= 2 && segments.filter { $0.resolution == 60 }.count <= 2
            )
            if to - from >= 2 * 3_600 { #expect(segments.contains { $0.resolution == 3_600 }) }
        }
    }

    @Test("A stretch older than its resolution's retention is read, rounded out, from the next coarser one")
    func planPastRetention() {
        let now: Int64 = 1_780_000_000
        let retention = RetentionPolicy(tenSeconds: .seconds(3_600), oneMinute: .seconds(86_400))
        // Two days back, starting 25 seconds into a minute and 15 minutes into an hour.
        let from = Aggregator.start(of: now - 2 * 86_400, resolution: 3_600) + 15 * 60 + 20
        let segments = MetricsQueries.plan(from: from, to: now - now % 10, now: now, retention: retention)
        #expect(
            !segments.contains { !retention.holds($0.resolution, start: $0.from, now: now) },
            "nothing read from resolutions no longer kept: \(segments)"
        )
        #expect(segments.min { $0.from < $1.from }?.from == Aggregator.start(of: from, resolution: 3_600))
        #expect(segments.contains { $0.resolution == 10 }, "the newest seconds still come from 10-second buckets")
    }

    @Test(
        "Under a tight retention, a plan still covers every second of the range, without overlap, from resolutions still kept"
    )
    func planCoversPastRetention() {
        var generator = SeededGenerator(seed: 12)
        let now: Int64 = 1_780_000_000
        let retention = RetentionPolicy(tenSeconds: .seconds(3_600), oneMinute: .seconds(86_400))
        for _ in 0..<500 {
            let to = Aggregator.start(of: now - Int64.random(in: 0..<(3 * 86_400), using: &generator), resolution: 10)
            let from = to - 10 * Int64.random(in: 1..<(2 * 8_640), using: &generator)
            let segments = MetricsQueries.plan(from: from, to: to, now: now, retention: retention).sorted {
                $0.from < $1.from
            }
            #expect(
                segments.first.map { $0.from <= from } == true && segments.last.map { $0.to >= to } == true,
                "\(from)..<\(to): \(segments)"
            )
            for (left, right) in zip(segments, segments.dropFirst()) { #expect(left.to == right.from, "\(segments)") }
            // Rounded out only where a finer resolution is gone.
            #expect(
                segments.allSatisfy {
                    $0.resolution == 3_600 || retention.holds($0.resolution, start: $0.from, now: now)
                },
                "\(segments)"
            )
        }
    }

    @Test("A file of version 1 (10-second buckets only) gets its rollups written from them when opened")
    func migration() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("migrate-\(UUID().uuidString).sqlite3")
            .path
        let aggregator = Aggregator()
        let start = Date(timeIntervalSince1970: 1_780_000_000 - 7_200)
        let events = MetricsAggregationTests.samples(5_000, seed: 3).enumerated().map { index, duration in
            MetricEvent.apiCall(
                APICallEvent(
                    timestamp: start.addingTimeInterval(Double(index)),
                    route: "/api/old",
                    method: "GET",
                    status: 200,
                    durationMs: duration
                )
            )
        }
        do {
            let old = try MetricsStore(path: path, synchronous: .normal)
            _ = try old.add(aggregator.deltas(of: events).filter { $0.key.resolution == 10 }) { _ in nil }
            try old.database.execute("PRAGMA user_version = 1")
        }
        let reopened = try MetricsStore(path: path, synchronous: .normal)
        let fine = try reopened.buckets(resolution: 10, from: 0, to: .max).reduce(into: SeriesBucket()) { $0.add($1.2) }
        for resolution: Int64 in [60, 3_600] {
            let rolled = try reopened.buckets(resolution: resolution, from: 0, to: .max).reduce(into: SeriesBucket()) {
                $0.add($1.2)
            }
            #expect(rolled.count == 5_000 && rolled.durations == fine.durations, "resolution \(resolution)")
        }
        // Opened again, nothing is written twice.
        let again = try MetricsStore(path: path, synchronous: .normal)
        #expect(try again.buckets(resolution: 3_600, from: 0, to: .max).reduce(0) { $0 + $1.2.count } == 5_000)
    }

    @Test("Stored rollups answer what the 10-second buckets answer: counts, errors, percentiles; late events included")
    func rollupsMatch() async throws {
        let store = try Self.store()
        let aggregator = Aggregator()
        let queries = MetricsQueries(store: store, aggregator: aggregator)
        let hour: Int64 = Aggregator.start(of: 1_780_000_000, resolution: 3_600)
        let start = Date(timeIntervalSince1970: Double(hour - 3 * 3_600 + 137))
        let durations = MetricsAggregationTests.samples(30_000, seed: 5)
        var generator = SeededGenerator(seed: 9)
        var events: [MetricEvent] = []
        for (index, duration) in durations.enumerated() {
            let at = start.addingTimeInterval(Double.random(in: 0..<(3 * 3_600 - 200), using: &generator))
            events.append(
                .apiCall(
                    APICallEvent(
                        timestamp: at,
                        route: "/api/clients",
                        method: "GET",
                        status: index % 50 == 0 ? 500 : 200,
                        durationMs: duration
                    )
                )
            )
        }
        // In batches, out of order, and the held buckets forgotten in between, so later batches read rows back.
        let batches = stride(from: 0, to: events.count, by: 1_000).map {
            Array(events[$0..<min($0 + 1_000, events.count)])
        }
        try await onOwnThread {
            for (number, batch) in batches.enumerated() {
                aggregator.keep(try store.add(aggregator.deltas(of: batch), held: aggregator.bucket))
                if number % 7 == 0 { aggregator.forget(before: Int64.max / 2) }
            }
        }
        let now = start.addingTimeInterval(3 * 3_600)
        let fine = try store.buckets(resolution: 10, from: 0, to: .max).reduce(into: SeriesBucket()) { $0.add($1.2) }
        for resolution: Int64 in [60, 3_600] {
            let rolled = try store.buckets(resolution: resolution, from: 0, to: .max)
            #expect(rolled.allSatisfy { $0.1 % resolution == 0 })
            let merged = rolled.reduce(into: SeriesBucket()) { $0.add($1.2) }
            #expect(
                merged.count == 30_000 && merged.errors == fine.errors && merged.durations == fine.durations,
                "resolution \(resolution)"
            )
        }
        // A three-hour summary read mostly from hourly rows has exactly the 10-second answer.
        let summary = try #require(try queries.summary(seconds: 3 * 3_600 + 600, now: now).series.first)
        #expect(summary.count == 30_000)
        #expect(summary.p99Ms == fine.percentileMs(99) && summary.p50Ms == fine.percentileMs(50))
        let hourly = try queries.series(
            metric: "count",
            route: "/api/clients",
            method: nil,
            range: "4h",
            step: 3_600,
            now: now
        )
        let counted: Double = hourly.points.compactMap { (point: SeriesPoint) -> Double? in point.value }.reduce(0, +)
        #expect(counted == 30_000)
        #expect(hourly.points.allSatisfy { Int64($0.start.timeIntervalSince1970) % 3_600 == 0 })
    }

    @Test("Retention prunes each resolution on its own")
    func pruning() throws {
        let store = try Self.store()
        let aggregator = Aggregator()
        let old = Date(timeIntervalSince1970: 1_780_000_000 - 3 * 86_400)
        aggregator.keep(
            try store.add(
                aggregator.deltas(of: [
                    .apiCall(APICallEvent(timestamp: old, route: "/r", method: "GET", status: 200, durationMs: 3))
                ]),
                held: { _ in nil }
            )
        )
        let policy = RetentionPolicy(tenSeconds: .seconds(86_400), oneMinute: .seconds(5 * 86_400))
        for resolution in Aggregator.resolutions {
            try store.prune(resolution: resolution, before: 1_780_000_000 - policy.keeps(resolution))
        }
        #expect(try store.buckets(resolution: 10, from: 0, to: .max).isEmpty)
        #expect(try store.buckets(resolution: 60, from: 0, to: .max).count == 1)
        #expect(try store.buckets(resolution: 3_600, from: 0, to: .max).count == 1)
    }
}
