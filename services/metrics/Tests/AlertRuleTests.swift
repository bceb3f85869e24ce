import Foundation
import Testing
import WedSyncModels
import WedSyncServiceKit
import WedSyncTestSupport

@testable import WedSyncMetrics

/// Alert states over an injected clock: pending, firing after `for`, resolving after `keepFiringFor`, no flapping.
@Suite("Metrics: alert rule states")
struct AlertRuleTests {
    @Test("An alert round-trips through JSON; its fingerprint is its name and labels")
    func alertRoundTrip() throws {
        let at = Date(timeIntervalSince1970: 1_781_359_200)
        let alert = Alert(
            name: "RouteLatencyHigh",
            state: .firing,
            severity: .critical,
            labels: ["route": "/api/clients"],
            value: 250,
            startsAt: at
        )
        #expect(
            try WedSyncJSON.makeDecoder().decode(Alert.self, from: WedSyncJSON.makeEncoder().encode(alert)) == alert
        )
        #expect(alert.fingerprint == "RouteLatencyHigh,route=/api/clients")
    }

    static let rule = AlertRule(
        name: "RouteLatencyHigh",
        metric: "p99",
        comparison: .above,
        threshold: 200,
        resolveThreshold: 150,
        for: .seconds(60),
        keepFiringFor: .seconds(120),
        severity: .critical
    )
    static let start = Date(timeIntervalSince1970: 1_780_000_000)

    /// Evaluates `values` every 15 s from `start`; returns each evaluation's state and transition.
    static func run(_ values: [Double?], rule: AlertRule = rule) -> [(
        state: AlertState, transition: AlertTracker.Transition?, at: Double
    )] {
        var tracker = AlertTracker()
        return values.enumerated().map { index, value in
            let at = Double(index * 15)
            let transition = tracker.evaluate(value, at: start.addingTimeInterval(at), rule: rule)
            return (tracker.state, transition, at)
        }
    }

    @Test("inactive, pending, firing after for, then resolved after keep-firing-for, then inactive")
    func lifecycle() {
        let steps = Self.run([100, 250, 250, 250, 250, 250, 100, 100, 100, 100, 100, 100, 100, 100])
        #expect(
            steps.map(\.state) == [
                .inactive, .pending, .pending, .pending, .pending, .firing, .firing, .firing, .firing, .firing, .firing,
                .firing, .firing, .resolved,
            ]
        )
        #expect(
            steps.first { $0.transition == .fired }?.at == 75,
            "fires when the breach has held for 60 s (15 s → 75 s)"
        )
        #expect(
            steps.first { $0.transition == .resolved }?.at == 195,
            "resolves 120 s after the last breach (75 s → 195 s)"
        )
        #expect(steps.compactMap(\.transition) == [.fired, .resolved])
    }

    @Test("A short breach never fires; pending goes back to inactive")
    func shortBreach() {
        let steps = Self.run([250, 250, 100, 250, 100])
        #expect(steps.map(\.state) == [.pending, .pending, .inactive, .pending, .inactive])
        #expect(steps.compactMap(\.transition).isEmpty)
    }

    @Test("A signal oscillating around the threshold fires once and does not flap")
    func oscillation() {
        // 195 ↔ 205 every evaluation for 30 minutes: breaches every other evaluation.
        let values = (0..<120).map { $0 % 2 == 0 ? 205.0 : 195.0 }
        var rule = Self.rule
        rule.for = .seconds(0)
        let steps = Self.run(values, rule: rule)
        #expect(
            steps.compactMap(\.transition) == [.fired],
            "one notification, no resolve while hovering above the resolve line"
        )
        // Then it recovers below 150 for good: one resolve, two minutes after the last value above 150.
        let recovered = Self.run(values + Array(repeating: 120, count: 12), rule: rule)
        #expect(recovered.compactMap(\.transition) == [.fired, .resolved])
        let resolvedAt = recovered.first { $0.transition == .resolved }!.at
        #expect(resolvedAt == Double(119 * 15 + 120))
    }

    @Test("Without hysteresis or keep-firing-for, the same oscillation would flap: the guards are what stops it")
    func flapsWithoutGuards() {
        let values = (0..<20).map { $0 % 2 == 0 ? 205.0 : 195.0 }
        let bare = AlertRule(
            name: "Bare",
            metric: "p99",
            comparison: .above,
            threshold: 200,
            for: .seconds(0),
            keepFiringFor: .seconds(0)
        )
        #expect(Self.run(values, rule: bare).compactMap(\.transition).count > 10)
    }

    @Test("No data does not breach; a below rule works the other way")
    func directions() {
        let low = AlertRule(
            name: "Low",
            metric: "cache_hit_ratio",
            comparison: .below,
            threshold: 0.8,
            resolveThreshold: 0.85,
            for: .seconds(30),
            keepFiringFor: .seconds(30)
        )
        let steps = Self.run([nil, 0.7, 0.7, 0.7, 0.82, 0.9, 0.9, 0.9], rule: low)
        // Fires at 45 s; 0.82 at 60 s is below the resolve line, so it counts as still bad; resolved 30 s later.
        #expect(steps.map(\.state) == [.inactive, .pending, .pending, .firing, .firing, .firing, .resolved, .inactive])
    }

    @Test("The rules file: the shipped one parses; mistakes are named")
    func rulesFile() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../../infrastructure/alerts.yaml"
        ).path
        let rules = try AlertRulesFile.parse(try String(contentsOfFile: path, encoding: .utf8))
        #expect(
            rules.map(\.name) == [
                "RouteLatencyHigh", "ErrorRateHigh", "CacheHitRatioLow", "PoolSaturated", "ServiceDown",
                "DiskAlmostFull", "NPlusOneQueries", "DatabaseCritical",
                "APIAvailabilityFastBurn", "APIAvailabilitySlowBurn", "ClientsLatencyFastBurn",
                "ClientsLatencySlowBurn",
            ]
        )
        #expect(rules[2].isTierRule && rules[2].match == ["tier": "L1"], "CacheHitRatioLow is per cache tier")
        #expect(
            rules[6].metric == "findings" && rules[6].match == ["kind": "n_plus_one"]
                && rules[7].match == ["severity": "critical"]
        )
        #expect(
            rules[8].window == .seconds(3_600) && rules[8].shortWindow == .seconds(300) && rules[8].threshold == 14.4
        )
        #expect(
            rules[9].window == .seconds(21_600) && rules[9].shortWindow == .seconds(1_800) && rules[9].threshold == 6
        )
        #expect(
            rules[10].objective?.latencyMs == 300 && rules[10].route == "/api/clients"
                && rules[10].labels["slo"] == "ClientsLatency"
        )
        #expect(rules[0].comparison == .above && rules[0].threshold == 200 && rules[0].resolveThreshold == 150)
        #expect(
            rules[0].for == .seconds(120) && rules[0].keepFiringFor == .seconds(300) && rules[0].severity == .critical
        )
        #expect(rules[2].comparison == .below)
        for (text, message) in [
            ("rules: [{name: a, metric: p42, condition: '> 1'}]", "metric must be"),
            ("rules: [{name: a, metric: p99, condition: '>= 1'}]", "condition must be"),
            ("rules: [{name: a, metric: p99, condition: '> 100', resolve: '< 200'}]", "good side"),
            ("rules: [{name: a, metric: p99, condition: '> 1', for: 5 minutes}]", "for must be"),
            ("rules: [{name: a, metric: p99, condition: '> 1'}, {name: a, metric: p95, condition: '> 1'}]", "unique"),
            ("rules: [{name: a, metric: p99, match: {kind: x}, condition: '> 1'}]", "match applies to gauge metrics"),
            (
                "rules: [{name: a, metric: cache_hit_ratio, route: /api/x, match: {tier: L1}, condition: '< 1'}]",
                "cache tiers with tier and namespace (no route)"
            ),
            ("slos: [{name: a, objective: 99.9}]", "objective must be"),
            ("slos: [{name: a, objective: 0.99, latency-ms: -3}]", "latency-ms"),
            (
                "rules: [{name: aFastBurn, metric: p99, condition: '> 1'}]\nslos: [{name: a, objective: 0.99}]",
                "another rule"
            ),
        ] {
            do {
                _ = try AlertRulesFile.parse(text)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.description.contains(message), "\(error)")
            }
        }
    }
}
