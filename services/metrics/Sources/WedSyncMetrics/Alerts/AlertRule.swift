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

    public var name: String
    /// `p50`, `p95`, `p99`, `error_rate`, `cache_hit_ratio` or `rate`.
    public var metric: String
    /// Only series of this route template (every API route when `nil`; each route is its own alert).
    public var route: String?
    public var comparison: Comparison
    public var threshold: Double
    /// Where the value must come back to before the alert may resolve; the threshold itself when `nil`.
    public var resolveThreshold: Double?
    /// The window the metric is computed over (the last N seconds of buckets).
    public var window: Duration
    public var `for`: Duration
    public var keepFiringFor: Duration
    public var severity: AlertSeverity
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(
        name: String, metric: String, route: String? = nil, comparison: Comparison, threshold: Double, resolveThreshold: Double? = nil,
        window: Duration = .seconds(300), for: Duration = .seconds(60), keepFiringFor: Duration = .seconds(120),
        severity: AlertSeverity = .warning, labels: [String: String] = [:], annotations: [String: String] = [:]
    ) {
        self.name = name
        self.metric = metric
        self.route = route
        self.comparison = comparison
        self.threshold = threshold
        self.resolveThreshold = resolveThreshold
        self.window = window
        self.for = `for`
        self.keepFiringFor = keepFiringFor
        self.severity = severity
        self.labels = labels
        self.annotations = annotations
    }

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
