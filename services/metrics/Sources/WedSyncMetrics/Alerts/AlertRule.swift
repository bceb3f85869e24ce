import Foundation
import WedSyncModels

/// A threshold rule on one metric of the aggregated series, as Prometheus writes them: the condition must hold
/// for `for` before the alert fires, and must stop holding for `keepFiringFor` before it resolves; with a
/// `resolveThreshold` (hysteresis) the value must also cross back past it. Both keep a signal that oscillates
/// around the threshold from flapping.
public struct AlertRule: Sendable, Equatable {
    public enum Comparison: String, Sendable, Codable {
        case above = ">"
        case below = "<"
    }

    /// What an SLO rule measures: the share of requests that are bad (failed, or slower than a latency) against the
    /// share the objective allows.
    public struct Objective: Sendable, Equatable {
        /// The share of good requests promised, e.g. 0.999.
        public var target: Double
        /// A request slower than this is bad (a latency SLO); `nil`: a request is bad when it fails with a 5xx.
        public var latencyMs: Double?
        /// The SLO's name, the `slo` label of its alerts.
        public var name: String

        public init(name: String, target: Double, latencyMs: Double? = nil) {
            self.name = name
            self.target = target
            self.latencyMs = latencyMs
        }

        /// The share of `bucket`'s requests that are bad; `nil` without requests.
        public func badRatio(_ bucket: SeriesBucket) -> Double? {
            guard bucket.count > 0 else { return nil }
            guard let latencyMs else { return Double(bucket.errors) / Double(bucket.count) }
            return Double(bucket.durations.count(above: UInt64((latencyMs * 1000).rounded()))) / Double(bucket.count)
        }

        /// How fast the error budget burns: the bad share over the share allowed (1 spends the budget exactly over
        /// the SLO period).
        public func burnRate(_ bucket: SeriesBucket) -> Double? {
            badRatio(bucket).map { $0 / (1 - target) }
        }
    }

    public var name: String
    /// `p50`, `p95`, `p99`, `error_rate`, `cache_hit_ratio`, `rate`, `burn_rate` (an SLO rule), or a gauge
    /// (``gaugeMetrics``).
    public var metric: String
    /// Only series of this route template (every API route when `nil`; each route is its own alert).
    public var route: String?
    /// For a gauge rule: only series whose labels have these values (`kind: n_plus_one`).
    public var match: [String: String]
    public var comparison: Comparison
    public var threshold: Double
    /// Where the value must come back to before the alert may resolve; the threshold itself when `nil`.
    public var resolveThreshold: Double?
    /// The window the metric is computed over (the last N seconds of buckets).
    public var window: Duration
    /// For a burn-rate rule: the short window that must burn too (a multiwindow alert resets quickly once the
    /// burning stops).
    public var shortWindow: Duration?
    /// For a burn-rate rule: the objective whose budget burns.
    public var objective: Objective?
    public var `for`: Duration
    public var keepFiringFor: Duration
    public var severity: AlertSeverity
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(
        name: String,
        metric: String,
        route: String? = nil,
        match: [String: String] = [:],
        comparison: Comparison,
        threshold: Double,
        resolveThreshold: Double? = nil,
        window: Duration = .seconds(300),
        shortWindow: Duration? = nil,
        objective: Objective? = nil,
        for: Duration = .seconds(60),
        keepFiringFor: Duration = .seconds(120),
        severity: AlertSeverity = .warning,
        labels: [String: String] = [:],
        annotations: [String: String] = [:]
    ) {
        self.name = name
        self.metric = metric
        self.route = route
        self.match = match
        self.comparison = comparison
        self.threshold = threshold
        self.resolveThreshold = resolveThreshold
        self.window = window
        self.shortWindow = shortWindow
        self.objective = objective
        self.for = `for`
        self.keepFiringFor = keepFiringFor
        self.severity = severity
        self.labels = labels
        self.annotations = annotations
    }

    /// The two burn-rate rules of an SLO, as the Google SRE workbook pages on them: 14.4 times the budget over
    /// 1 hour and 5 minutes (2% of a 30-day budget spent in an hour), and 6 times over 6 hours and 30 minutes (5%
    /// in six hours).
    public static func burnRateRules(
        for objective: Objective,
        route: String?,
        severity: AlertSeverity,
        labels: [String: String],
        annotations: [String: String]
    ) -> [AlertRule] {
        [("FastBurn", 14.4, 3_600, 300, 120), ("SlowBurn", 6.0, 21_600, 1_800, 900)].map {
            suffix,
            factor,
            long,
            short,
            `for` in
            AlertRule(
                name: objective.name + suffix,
                metric: "burn_rate",
                route: route,
                comparison: .above,
                threshold: factor,
                window: .seconds(long),
                shortWindow: .seconds(short),
                objective: objective,
                for: .seconds(`for`),
                keepFiringFor: .seconds(short / 2),
                severity: severity,
                labels: labels.merging(["slo": objective.name, "burn": factor > 10 ? "fast" : "slow"]) { $1 },
                annotations: annotations.merging([
                    "summary": annotations["summary"]
                        ?? "\(objective.name): the error budget burns \(factor)x too fast",
                    "objective": String(objective.target),
                ]) { old, _ in old }
            )
        }
    }

    /// The rule's value from the buckets merged over its window (and over its short window, for a burn rate):
    /// a burn-rate rule takes the lower of the two burns, so it holds only while both windows burn.
    func value(long: SeriesBucket?, short: SeriesBucket?, seconds: Double) -> Double? {
        if let objective {
            guard let long = long.flatMap(objective.burnRate) else { return nil }
            guard shortWindow != nil else { return long }
            guard let short = short.flatMap(objective.burnRate) else { return nil }
            return min(long, short)
        }
        return long?.value(of: metric, seconds: seconds)
    }

    /// The labels a request-metric rule may match to evaluate cache tiers (the `cache` series `namespace/tier`).
    public static let tierLabels: Set<String> = ["namespace", "tier"]

    /// Whether the rule is evaluated on cache tiers (a request metric with a `tier`/`namespace` match).
    public var isTierRule: Bool { !match.isEmpty && !Self.gaugeMetrics.contains(metric) }

    /// Metrics read from stored gauges (system samples, scraped pools, reported findings) rather than from request
    /// buckets.
    public static let gaugeMetrics: Set<String> = [
        "pool_utilisation", "pool_waiting", "cpu_utilisation", "memory_utilisation", "disk_utilisation", "up",
        "findings",
    ]

    /// Whether `value` breaches the threshold.
    func breaches(_ value: Double) -> Bool {
        comparison == .above ? value > threshold : value < threshold
    }

    /// Whether `value` is back on the good side of the resolve threshold.
    func recovered(_ value: Double) -> Bool {
        let line = resolveThreshold ?? threshold
        return comparison == .above ? value <= line : value >= line
    }
}

/// One alert's life under a rule, advanced by each evaluation at an injected time.
public struct AlertTracker: Sendable, Equatable {
    public private(set) var state: AlertState = .inactive
    /// When the condition began to hold (pending and firing).
    public private(set) var activeSince: Date?
    /// When the alert fired.
    public private(set) var firedAt: Date?
    /// When the value was last on the bad side while firing (for `keepFiringFor`).
    private var lastBreach: Date?
    public private(set) var resolvedAt: Date?
    public private(set) var value: Double?

    public init() {}

    /// A change worth telling: the alert fired or resolved.
    public enum Transition: Sendable, Equatable {
        case fired
        case resolved
    }

    /// Evaluates `value` (`nil`: no data, which counts as not breaching) at `now` under `rule`.
    public mutating func evaluate(_ value: Double?, at now: Date, rule: AlertRule) -> Transition? {
        self.value = value
        let breaching = value.map(rule.breaches) ?? false
        switch state {
        case .inactive, .resolved:
            guard breaching else {
                if state == .resolved { state = .inactive }
                return nil
            }
            state = .pending
            activeSince = now
            resolvedAt = nil
            return checkFor(at: now, rule: rule)
        case .pending:
            guard breaching else {
                state = .inactive
                activeSince = nil
                return nil
            }
            return checkFor(at: now, rule: rule)
        case .firing:
            if breaching || !(value.map(rule.recovered) ?? true) {
                // Still bad, or not yet back past the resolve threshold: keep firing, and count keepFiringFor
                // from the last such evaluation.
                lastBreach = now
                return nil
            }
            guard let lastBreach, now.timeIntervalSince(lastBreach) >= seconds(rule.keepFiringFor) else { return nil }
            state = .resolved
            resolvedAt = now
            activeSince = nil
            return .resolved
        }
    }

    private mutating func checkFor(at now: Date, rule: AlertRule) -> Transition? {
        guard let activeSince, now.timeIntervalSince(activeSince) >= seconds(rule.for) else { return nil }
        state = .firing
        firedAt = now
        lastBreach = now
        return .fired
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration / .milliseconds(1)) / 1000
    }
}
