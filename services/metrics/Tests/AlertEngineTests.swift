import Foundation
import HTTPTypes
import Logging
import Testing
import WedSyncModels
import WedSyncServiceKit
import WedSyncTestSupport

@testable import WedSyncMetrics

/// The alert engine over real stored buckets (SQLite) with an injected clock: multiwindow burn-rate SLO alerts and
/// grouping.
@Suite("Metrics: the alert engine, SLO burn rates, grouping")
struct AlertEngineTests {
    static let origin = Date(timeIntervalSince1970: Double(Aggregator.start(of: 1_780_000_000, resolution: 3_600)))

    final class Setup: Sendable {
        let store: MetricsStore
        let aggregator = Aggregator()
        let queries: MetricsQueries
        let notifier: AlertNotifier
        let engine: AlertEngine

        init(rules: [AlertRule]) throws {
            store = try MetricsStore(
                path: FileManager.default.temporaryDirectory.appendingPathComponent(
                    "engine-\(UUID().uuidString).sqlite3"
                ).path,
                synchronous: .normal
            )
            queries = MetricsQueries(store: store, aggregator: aggregator)
            // A receiver nobody listens on: each notification is recorded (with its alerts), tried once.
            notifier = AlertNotifier(
                receivers: [AlertReceiver(name: "nobody", destination: .webhook(url: "http://127.0.0.1:9/"))],
                externalURL: "http://metrics.test",
                maximumAttempts: 1,
                logger: Logger(label: "test")
            )
            engine = AlertEngine(
                rules: rules,
                queries: queries,
                notifier: notifier,
                interval: .seconds(60),
                logger: Logger(label: "test")
            )
        }

        /// `perMinute` requests in the minute starting at `minute` (minutes after the origin), `bad` of them failing (or slow).
        func traffic(route: String = "/api/clients", minute: Int, perMinute: Int = 600, bad: Int, slowMs: Double? = nil)
            throws
        {
            var generator = SeededGenerator(seed: UInt64(minute * 7_919 + route.count))
            let events = (0..<perMinute).map { index -> MetricEvent in
                let at = AlertEngineTests.origin.addingTimeInterval(
                    Double(minute * 60) + Double.random(in: 0..<60, using: &generator)
                )
                let isBad = index < bad
                let duration = isBad && slowMs != nil ? slowMs! : Double.random(in: 5..<40, using: &generator)
                return .apiCall(
                    APICallEvent(
                        timestamp: at,
                        route: route,
                        method: "GET",
                        status: isBad && slowMs == nil ? 503 : 200,
                        durationMs: duration
                    )
                )
            }
            aggregator.keep(try store.add(aggregator.deltas(of: events), held: aggregator.bucket))
        }

        func state(_ name: String, at minute: Double) -> AlertState? {
            engine.alerts(at: AlertEngineTests.origin.addingTimeInterval(minute * 60)).first { $0.name == name }?.state
        }

        func evaluate(at minute: Double) {
            engine.evaluate(at: AlertEngineTests.origin.addingTimeInterval(minute * 60))
        }
    }

    static let availability = AlertRule.Objective(name: "Avail", target: 0.999)

    @Test(
        "Fast burn: 20% failing (200x the budget) fires after its for; once the failures stop it resolves on the short window, long before the hour clears"
    )
    func fastBurn() async throws {
        let setup = try Setup(
            rules: AlertRule.burnRateRules(
                for: Self.availability,
                route: nil,
                severity: .critical,
                labels: [:],
                annotations: [:]
            )
        )
        let states = try await onOwnThread { () -> [Int: AlertState?] in
            var states: [Int: AlertState?] = [:]
            for minute in 0..<40 {
                try setup.traffic(minute: minute, perMinute: 100, bad: minute >= 10 && minute < 20 ? 20 : 0)
                setup.evaluate(at: Double(minute) + 1)
                states[minute + 1] = setup.state("AvailFastBurn", at: Double(minute) + 1)
            }
            return states
        }
        #expect(states[10] == .some(nil), "healthy traffic: no alert")
        // One bad minute is 4% of the 5-minute window and 1.8% of the 11 minutes of the hour so far: both over
        // 14.4 x 0.1%. `for` is 2 minutes.
        #expect(states[11] == .pending, "\(states.sorted { $0.key < $1.key })")
        #expect(states[13] == .firing)
        #expect(states[20] == .firing)
        // The failures stopped at minute 20: the 5-minute window is clean by minute 25 (plus keep-firing-for, 150 s),
        // while the hour still holds them (a burn of about 60 over the hour).
        #expect(states[24] == .firing)
        #expect(states[28] == .resolved || states[28] == .some(nil), "\(states.sorted { $0.key < $1.key })")
        #expect(
            setup.notifier.notifications.filter { $0.alertName == "AvailFastBurn" }.map(\.status) == [
                "resolved", "firing",
            ]
        )
    }

    @Test("Slow burn: 10% failing for hours against 99% (10x) fires the 6-hour rule and never the fast one")
    func slowBurn() async throws {
        let objective = AlertRule.Objective(name: "Avail", target: 0.99)
        let setup = try Setup(
            rules: AlertRule.burnRateRules(
                for: objective,
                route: nil,
                severity: .critical,
                labels: [:],
                annotations: [:]
            )
        )
        let (firedAt, fastSeen) = try await onOwnThread { () -> (Int?, Bool) in
            var firedAt: Int?
            var fastSeen = false
            for minute in 0..<(7 * 60) {
                // Ten a minute, one failing: a burn of 10 against a 99% objective, give or take a window's edges.
                try setup.traffic(minute: minute, perMinute: 10, bad: 1)
                guard minute % 5 == 4 else { continue }
                setup.evaluate(at: Double(minute) + 1)
                if firedAt == nil, setup.state("AvailSlowBurn", at: Double(minute) + 1) == .firing {
                    firedAt = minute + 1
                }
                if setup.state("AvailFastBurn", at: Double(minute) + 1) != nil { fastSeen = true }
            }
            return (firedAt, fastSeen)
        }
        #expect(!fastSeen, "a burn of 10 is under the fast rule's 14.4")
        // Both windows burn at 10 from the start, so it fires once `for` (15 minutes) has passed.
        let fired = try #require(firedAt)
        #expect((15...25).contains(fired), "fired at minute \(fired)")
    }

    @Test("A latency SLO counts requests slower than its threshold as bad")
    func latencyObjective() async throws {
        let objective = AlertRule.Objective(name: "Quick", target: 0.99, latencyMs: 300)
        let setup = try Setup(
            rules: AlertRule.burnRateRules(
                for: objective,
                route: "/api/clients",
                severity: .warning,
                labels: [:],
                annotations: [:]
            )
        )
        try await onOwnThread {
            for minute in 0..<10 {
                // 30% of requests at 450 ms: burn 30 over the budget of 1%.
                try setup.traffic(minute: minute, bad: minute >= 3 ? 180 : 0, slowMs: 450)
                try setup.traffic(route: "/api/other", minute: minute, bad: 300, slowMs: 450)
                setup.evaluate(at: Double(minute) + 1)
            }
        }
        let alerts = setup.engine.alerts(at: Self.origin.addingTimeInterval(600))
        #expect(alerts.first { $0.name == "QuickFastBurn" }?.state == .firing)
        #expect(alerts.first { $0.name == "QuickFastBurn" }?.labels["route"] == "/api/clients")
        #expect(!alerts.contains { $0.labels["route"] == "/api/other" }, "the SLO holds one route")
        var bucket = SeriesBucket()
        for duration in [100.0, 200, 299, 301, 450, 1_000] {
            bucket.record(durationMs: duration, failed: false, cacheHit: nil)
        }
        #expect(objective.badRatio(bucket) == 0.5)
    }

    @Test(
        "A cache tier rule: one alert per namespace/tier from the tier aggregates; a tier whose lookups all missed reads 0, the origin never alerts"
    )
    func cacheTiers() throws {
        let rule = AlertRule(
            name: "CacheHitRatioLow",
            metric: "cache_hit_ratio",
            match: ["namespace": "gw"],
            comparison: .below,
            threshold: 0.8,
            window: .seconds(300),
            for: .seconds(0),
            keepFiringFor: .seconds(60)
        )
        let setup = try Setup(rules: [rule])
        // The gateway: 90 of 100 lookups from L1, the other 10 from the origin (L2 tried and missed every one);
        // the cache service's namespace "schedules": half its lookups from L1.
        func summary(_ tier: APICallSummaryEvent.Tier, _ namespace: String, _ calls: Int) -> MetricEvent {
            .apiCallSummary(
                APICallSummaryEvent(
                    timestamp: AlertEngineTests.origin,
                    route: "/api/clients",
                    method: "GET",
                    statusClass: 2,
                    cache: tier == .origin ? .miss : .hit,
                    tier: tier,
                    namespace: namespace,
                    count: calls,
                    durationsUs: [[tier == .origin ? 9_000 : 300, calls]]
                )
            )
        }
        let events = [
            summary(.l1, "gw", 90), summary(.origin, "gw", 10), summary(.l1, "schedules", 5),
            summary(.origin, "schedules", 5),
        ]
        setup.aggregator.keep(try setup.store.add(setup.aggregator.deltas(of: events), held: setup.aggregator.bucket))
        setup.evaluate(at: 1)
        let alerts = setup.engine.alerts(at: AlertEngineTests.origin.addingTimeInterval(60))
        // gw/L1 answers 90% (no alert), gw/L2 answered none of the 10 it was asked (0%: an alert), the origin has no
        // ratio; the cache service's namespace is not matched.
        #expect(alerts.map(\.labels) == [["namespace": "gw", "tier": "L2"]], "\(alerts)")
        #expect(alerts.first?.value == 0)
        let figures = try setup.queries.summary(seconds: 300, now: AlertEngineTests.origin.addingTimeInterval(60))
        let tiers = Dictionary(
            uniqueKeysWithValues: figures.cacheTiers.map { ("\($0.source ?? "")/\($0.tier)", $0) }
        )
        #expect(tiers["gateway/L1"]?.lookups == 100 && tiers["gateway/L1"]?.hitRatio == 0.9)
        #expect(tiers["gateway/L2"]?.lookups == 10 && tiers["gateway/L2"]?.hitRatio == 0)
        #expect(tiers["gateway/origin"]?.answered == 10 && tiers["gateway/origin"]?.hitRatio == nil)
        #expect((tiers["gateway/origin"]?.p95Ms ?? 0) > 8 && (tiers["gateway/L1"]?.p95Ms ?? 1) < 0.5)
        #expect(tiers["cache/L1"]?.hitRatio == 0.5)
    }

    @Test("Alerts of one rule that fire in the same evaluation go out as one group")
    func grouping() throws {
        let rule = AlertRule(
            name: "Slow",
            metric: "p99",
            comparison: .above,
            threshold: 100,
            window: .seconds(300),
            for: .seconds(0),
            keepFiringFor: .seconds(60),
            severity: .critical
        )
        let other = AlertRule(
            name: "Failing",
            metric: "error_rate",
            comparison: .above,
            threshold: 0.5,
            window: .seconds(300),
            for: .seconds(0),
            severity: .warning
        )
        let setup = try Setup(rules: [rule, other])
        for route in ["/api/a", "/api/b", "/api/c"] {
            try setup.traffic(route: route, minute: 0, bad: 600, slowMs: route == "/api/c" ? nil : 250)
        }
        setup.evaluate(at: 1)
        let sent = setup.notifier.notifications
        #expect(sent.filter { $0.alertName == "Slow" }.count == 1, "one notification for the rule")
        #expect(sent.first { $0.alertName == "Slow" }?.alerts == 2, "carrying both slow routes")
        #expect(sent.first { $0.alertName == "Failing" }?.alerts == 1, "another rule is another group")
        // A second evaluation with the same state sends nothing new (the repeat interval is hours).
        setup.evaluate(at: 2)
        #expect(setup.notifier.notifications.count == sent.count)
    }

    @Test(
        "Silences stay bounded: one ended longer ago than the retention is let go, and past the bound a new one is a 409"
    )
    func silencesBounded() throws {
        let engine = try Setup(rules: []).engine
        let now = Date()
        let old = try engine.addSilence(
            SilenceRequest(
                matchers: ["alertname": "A"],
                startsAt: now.addingTimeInterval(-7 * 86_400),
                endsAt: now.addingTimeInterval(-6 * 86_400),
                createdBy: "ops",
                comment: "old"
            )
        )
        let ended = try engine.addSilence(
            SilenceRequest(
                matchers: ["alertname": "B"],
                endsAt: now.addingTimeInterval(-3_600),
                createdBy: "ops",
                comment: "just ended"
            )
        )
        #expect(
            !engine.silences.contains { $0.id == old.id },
            "a silence ended 6 days ago is kept past the 120-hour retention"
        )
        #expect(engine.silences.contains { $0.id == ended.id })
        for index in engine.silences.count..<AlertEngine.maximumSilences {
            _ = try engine.addSilence(
                SilenceRequest(
                    matchers: ["alertname": "N\(index)"],
                    endsAt: now.addingTimeInterval(3_600),
                    createdBy: "ops",
                    comment: ""
                )
            )
        }
        #expect(engine.silences.count == AlertEngine.maximumSilences)
        let refused = #expect(throws: ServiceError.self) {
            try engine.addSilence(
                SilenceRequest(
                    matchers: ["alertname": "X"],
                    endsAt: now.addingTimeInterval(3_600),
                    createdBy: "ops",
                    comment: ""
                )
            )
        }
        #expect(refused?.code == "silence_limit" && refused?.status == .conflict)
    }
}
