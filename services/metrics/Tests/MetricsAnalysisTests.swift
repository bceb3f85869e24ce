import Foundation
import Testing
import WedSyncModels
import WedSyncServiceKit
import WedSyncTestSupport

@testable import WedSyncMetrics

/// Regression detection (the Mann-Whitney U test on histograms, Cliff's delta), budgets, and the capacity
/// forecast, on stored buckets.
@Suite("Metrics: regressions, budgets, capacity")
struct MetricsAnalysisTests {
    static func store() throws -> MetricsStore {
        try MetricsStore(
            path: FileManager.default.temporaryDirectory.appendingPathComponent("analysis-\(UUID().uuidString).sqlite3")
                .path,
            synchronous: .normal
        )
    }

    static func durations(_ values: [Double]) -> SparseDurations {
        var durations = SparseDurations()
        for value in values { durations.record(UInt64((value * 1000).rounded())) }
        return durations
    }

    @Test("U and Cliff's delta from histograms equal the pairwise count, ties counting one half")
    func uMatchesBruteForce() throws {
        var generator = SeededGenerator(seed: 21)
        for _ in 0..<20 {
            // Whole milliseconds, so there are many ties.
            let a = (0..<Int.random(in: 5..<80, using: &generator)).map { _ in
                Double(Int.random(in: 1...30, using: &generator))
            }
            let b = (0..<Int.random(in: 5..<80, using: &generator)).map { _ in
                Double(Int.random(in: 1...35, using: &generator))
            }
            let pairs = b.reduce(0.0) { sum, y in a.reduce(sum) { $0 + (y > $1 ? 1 : y == $1 ? 0.5 : 0) } }
            let test = try #require(MannWhitney(baseline: Self.durations(a), current: Self.durations(b)))
            #expect(abs(test.u - pairs) < 1e-9)
            #expect(abs(test.cliffsDelta - (2 * pairs / Double(a.count * b.count) - 1)) < 1e-9)
        }
        #expect(MannWhitney(baseline: SparseDurations(), current: Self.durations([1])) == nil)
        #expect(
            MannWhitney(baseline: Self.durations([5, 5]), current: Self.durations([5, 5]))?.pValue == 1,
            "all tied: no evidence"
        )
    }

    @Test("A 50% slowdown is a significant regression with a real effect; the same distribution is not; faster is not")
    func detectsShift() throws {
        let same = try #require(
            MannWhitney(
                baseline: Self.durations(MetricsAggregationTests.samples(3_000, seed: 1)),
                current: Self.durations(MetricsAggregationTests.samples(3_000, seed: 2))
            )
        )
        #expect(same.pValue > 0.01 && MannWhitney.magnitude(of: same.cliffsDelta) == "negligible")
        let slower = try #require(
            MannWhitney(
                baseline: Self.durations(MetricsAggregationTests.samples(3_000, seed: 1)),
                current: Self.durations(MetricsAggregationTests.samples(3_000, seed: 2).map { $0 * 1.5 })
            )
        )
        #expect(slower.pValue < 1e-6)
        #expect(slower.cliffsDelta > 0.147, "at least a small effect: \(slower.cliffsDelta)")
        let faster = try #require(
            MannWhitney(
                baseline: Self.durations(MetricsAggregationTests.samples(3_000, seed: 1)),
                current: Self.durations(MetricsAggregationTests.samples(3_000, seed: 2).map { $0 / 1.5 })
            )
        )
        #expect(faster.pValue > 0.99, "one-sided: faster is not a regression")
    }

    @Test("Against the same hour a week earlier: the slowed route regressed, the steady one did not")
    func weekBaseline() throws {
        let store = try Self.store()
        let aggregator = Aggregator()
        let queries = MetricsQueries(store: store, aggregator: aggregator)
        let now = Date(timeIntervalSince1970: 1_780_000_000)
        var generator = SeededGenerator(seed: 4)
        var events: [MetricEvent] = []
        for (route, factor) in [("/api/clients", 1.4), ("/api/guests", 1.0)] {
            for (offset, scale) in [(-7.0 * 86_400, 1.0), (0.0, factor)] {
                // The steady route's two weeks are different draws; the slowed one is the same draw, slowed.
                let seed = UInt64(route.count) + (factor == 1 && offset == 0 ? 1 : 0)
                for (index, duration) in MetricsAggregationTests.samples(2_000, seed: seed).enumerated() {
                    let at = now.addingTimeInterval(offset - Double.random(in: 1..<3_500, using: &generator))
                    events.append(
                        .apiCall(
                            APICallEvent(
                                timestamp: at,
                                route: route,
                                method: "GET",
                                status: index % 100 == 0 ? 500 : 200,
                                durationMs: duration * scale
                            )
                        )
                    )
                }
            }
        }
        aggregator.keep(try store.add(aggregator.deltas(of: events), held: aggregator.bucket))
        let report = try RegressionDetector(queries: queries).report(baseline: "week", window: 3_600, now: now)
        let clients = try #require(report.findings.first { $0.route == "/api/clients" })
        let guests = try #require(report.findings.first { $0.route == "/api/guests" })
        #expect(clients.regressed && clients.pValue < 1e-6 && clients.magnitude != "negligible")
        #expect(abs(clients.p95Ratio - 1.4) < 0.02, "\(clients.p95Ratio)")
        #expect(clients.baseline.count == 2_000 && clients.current.count == 2_000)
        #expect(!guests.regressed)
        #expect(report.findings.first?.route == "/api/clients", "regressions first")
        #expect(throws: (any Error).self) {
            try RegressionDetector(queries: queries).report(baseline: "release", window: 3_600, now: now)
        }
    }

    @Test(
        "Budgets: a route over its p95 is breached, one within is ok, one without traffic has no data; the file's mistakes are named"
    )
    func budgets() throws {
        var fast = SeriesBucket()
        var slow = SeriesBucket()
        for value in MetricsAggregationTests.samples(1_000, seed: 8) {
            fast.record(durationMs: value, failed: false, cacheHit: nil)
            slow.record(durationMs: value * 10, failed: value > 60, cacheHit: nil)
        }
        let series: [SeriesKey: SeriesBucket] = [
            SeriesKey(kind: "api", name: "/api/fast", method: "GET"): fast,
            SeriesKey(kind: "api", name: "/api/slow", method: "GET"): slow,
        ]
        let budgets = [
            PerformanceBudget(route: "/api/fast", p95Ms: 150, errorRate: 0.01),
            PerformanceBudget(route: "/api/slow", method: "GET", p95Ms: 150, p99Ms: 10_000),
            PerformanceBudget(route: "/api/idle", p95Ms: 100),
        ]
        let report = PerformanceBudget.report(budgets, series: series, range: "1h", from: Date(), to: Date())
        #expect(report.budgets.map(\.status) == ["ok", "breached", "no_data"])
        #expect(report.breached == 1)
        #expect(report.budgets[1].checks.map(\.status) == ["breached", "ok"])
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../../infrastructure/budgets.yaml"
        ).path
        let shipped = try BudgetsFile.parse(try String(contentsOfFile: path, encoding: .utf8))
        #expect(
            shipped.range == "1h"
                && shipped.budgets.contains { $0.route == "/api/supplier-schedules" && $0.p95Ms == 100 }
        )
        for (text, message) in [
            ("budgets: [{route: api/clients, p95: 100}]", "route must be"), ("budgets: [{route: /a}]", "give p95"),
            ("budgets: [{route: /a, p95: -1}]", "positive"), ("budgets: [{route: /a, error-rate: 2}]", "share"),
            ("range: forever\nbudgets: [{route: /a, p95: 1}]", "range"),
            ("budgets: [{route: /a, p95: 1}, {route: /a, p99: 1}]", "twice"),
        ] {
            #expect(throws: (any Error).self) { _ = try BudgetsFile.parse(text) }
            do { _ = try BudgetsFile.parse(text) } catch { #expect(error.description.contains(message), "\(error)") }
        }
    }

    /// 30 weeks of hourly rollups: 3x busier Saturdays, 3% growth a week, twice as busy in the season, a daily
    /// shape peaking mid-afternoon; p95 rising with load (20 ms + 0.5 ms per request per second).
    static func history(store: MetricsStore, weeks: Int, lastWeek: Int64) throws {
        let aggregator = Aggregator()
        var deltas: [Aggregator.BucketKey: SeriesBucket] = [:]
        for week in (lastWeek - Int64(weeks) + 1)...lastWeek {
            let season = CapacityPlanner.inSeason(CapacityPlanner.saturday(ofWeek: week)) ? 2.0 : 1.0
            let growth = pow(1.03, Double(week - lastWeek))
            for hour in 0..<168 {
                let start = CapacityPlanner.firstMonday + week * CapacityPlanner.week + Int64(hour) * 3_600
                let shape = (6..<22).contains(hour % 24) ? 0.2 + 0.8 * sin(Double.pi * Double(hour % 24 - 6) / 16) : 0.2
                let rate = 25 * growth * season * (hour / 24 == 5 ? 3 : 1) * shape
                var bucket = SeriesBucket()
                bucket.count = Int((rate * 3_600).rounded())
                bucket.durations.record(UInt64((20 + 0.5 * rate) * 1000), count: UInt64(bucket.count))
                deltas[
                    Aggregator.BucketKey(
                        series: SeriesKey(kind: "api", name: "/api/clients", method: "GET"),
                        start: start,
                        resolution: 3_600
                    )
                ] = bucket
            }
        }
        _ = aggregator
        _ = try store.add(deltas) { _ in nil }
    }

    @Test(
        "Capacity: the trend, the Saturday factor and the season are recovered; next Saturday's replicas and the breach date follow"
    )
    func capacity() throws {
        let store = try Self.store()
        // Wednesday 2026-08-19, noon: history from January, into the season.
        let now = Date(
            timeIntervalSince1970: Double(CalendarDay(year: 2026, month: 8, day: 19)!.daysSinceEpoch) * 86_400 + 43_200
        )
        let thisWeek = CapacityPlanner.weekIndex(Int64(now.timeIntervalSince1970))
        try Self.history(store: store, weeks: 30, lastWeek: thisWeek - 1)
        // This week so far (Monday to Wednesday noon) at a tenth of the traffic: a week under way is not fitted.
        var partial: [Aggregator.BucketKey: SeriesBucket] = [:]
        for hour in 0..<(2 * 24 + 12) {
            var bucket = SeriesBucket()
            bucket.count = 900
            bucket.durations.record(21_000, count: 900)
            partial[
                Aggregator.BucketKey(
                    series: SeriesKey(kind: "api", name: "/api/clients", method: "GET"),
                    start: CapacityPlanner.firstMonday + thisWeek * CapacityPlanner.week + Int64(hour) * 3_600,
                    resolution: 3_600
                )
            ] = bucket
        }
        _ = try store.add(partial) { _ in nil }
        let planner = CapacityPlanner(
            queries: MetricsQueries(store: store, aggregator: Aggregator()),
            p95BudgetMs: 200,
            currentReplicas: 1
        )
        let forecast = try #require(try planner.forecast(at: now))
        #expect(forecast.nextSaturday == "2026-08-22" && forecast.inSeason)
        #expect(forecast.weeksOfHistory == 30)
        #expect(abs(forecast.saturdayFactor - 3) < 0.01)
        #expect(abs(forecast.trendPerWeek - 0.03) < 0.002, "\(forecast.trendPerWeek)")
        #expect(abs(forecast.seasonFactor - 2) < 0.05, "\(forecast.seasonFactor)")
        // Next Saturday is one week past the last: 75 requests/s x 1.03 x the season.
        let expected = 75 * 1.03 * 2
        #expect(
            abs(forecast.peakRatePerSecond - expected) / expected < 0.02,
            "\(forecast.peakRatePerSecond) vs \(expected)"
        )
        // p95 reaches 200 ms at 360 requests/s: one replica serves that within the budget.
        #expect(abs(forecast.perReplicaRatePerSecond - 360) < 5, "\(forecast.perReplicaRatePerSecond)")
        #expect(forecast.replicasNeeded == Int((expected * 1.2 / 360).rounded(.up)))
        #expect(abs((forecast.peakP95Ms ?? 0) - (20 + 0.5 * expected)) < 3)
        // 154.5 x 1.03^k would pass 360 only past the season's end, when the halving keeps it out of reach.
        #expect(forecast.budgetBreachAt == nil)
        // At 170 requests/s a replica, the growth breaks the budget a few Saturdays on.
        let modest = try #require(
            try CapacityPlanner(
                queries: MetricsQueries(store: store, aggregator: Aggregator()),
                p95BudgetMs: 200,
                currentReplicas: 1,
                replicaRatePerSecond: 170
            )
            .forecast(at: now)
        )
        let breach = (0..<26).first { k in
            75 * pow(1.03, Double(k + 1))
                * (CapacityPlanner.inSeason(CapacityPlanner.saturday(ofWeek: thisWeek + Int64(k))) ? 2 : 1) > 170
        }.map { CapacityPlanner.date(CapacityPlanner.saturday(ofWeek: thisWeek + Int64($0))) }
        #expect(
            breach != nil && modest.budgetBreachAt == breach,
            "\(String(describing: modest.budgetBreachAt)) vs \(String(describing: breach))"
        )
        let busier = CapacityPlanner(
            queries: MetricsQueries(store: store, aggregator: Aggregator()),
            p95BudgetMs: 200,
            currentReplicas: 1,
            replicaRatePerSecond: 100
        )
        let tight = try #require(try busier.forecast(at: now))
        #expect(tight.replicasNeeded == Int((expected * 1.2 / 100).rounded(.up)))
        #expect(
            tight.budgetBreachAt == "2026-08-22",
            "at 100 requests/s a replica, next Saturday already breaks the budget"
        )
        #expect(tight.routes.first?.route == "/api/clients")
        // Over budget at every measured hour, with no line to say where it would hold: broken already.
        let overloaded = try #require(
            try CapacityPlanner(queries: MetricsQueries(store: store, aggregator: Aggregator()), p95BudgetMs: 10)
                .forecast(at: now)
        )
        #expect(overloaded.budgetBreachAt == "2026-08-22" && overloaded.replicasNeeded >= 2)
        #expect(
            try CapacityPlanner(queries: MetricsQueries(store: try Self.store(), aggregator: Aggregator())).forecast(
                at: now
            ) == nil
        )
    }
}
