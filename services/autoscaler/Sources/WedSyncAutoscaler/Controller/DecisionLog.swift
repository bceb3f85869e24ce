import Foundation
import Metrics
import Synchronization

/// What `GET /v1/decisions` shows: the actuator, and per target its replicas and its latest decisions.
public struct DecisionsReport: Codable, Sendable, Equatable {
    /// `dry-run`, `kubernetes` or `local`.
    public var actuator: String
    public var intervalSeconds: Double
    public var targets: [TargetReport]
}

/// One target's replicas as last read, what it was last told, and its decisions, newest first.
public struct TargetReport: Codable, Sendable, Equatable {
    public var target: String
    /// `nil` before the actuator could be read.
    public var currentReplicas: Int?
    public var readyReplicas: Int?
    public var desiredReplicas: Int?
    /// The last failure to read or set the replicas, until one succeeds.
    public var lastError: String?
    public var decisions: [ScalingDecision]
}

/// Every target's latest decisions (a bounded history each), and their gauges and counters:
///
/// | metric | labels |
/// |---|---|
/// | `wedsync_autoscaler_replicas` | `target`, `state` = `current`, `ready`, `desired` |
/// | `wedsync_autoscaler_decisions_total` | `target`, `rule` (the rule that won) |
/// | `wedsync_autoscaler_scale_total` | `target`, `direction` = `up`, `down` |
/// | `wedsync_autoscaler_actuation_errors_total` | `target` |
///
/// The labels are the file's target names and the fixed rule names: nothing a caller sends.
public final class DecisionLog: Sendable {
    public let actuator: String
    public let interval: Duration
    /// Decisions kept per target (at 15 s, 240 are the last hour).
    public let capacity: Int
    private let reports: Mutex<[TargetReport]>

    public init(actuator: String, interval: Duration, targets: [String], capacity: Int = 240) {
        self.actuator = actuator
        self.interval = interval
        self.capacity = capacity
        self.reports = Mutex(targets.map { TargetReport(target: $0, decisions: []) })
    }

    /// Records a decision, and the replicas it was taken on.
    public func record(_ decision: ScalingDecision, ready: Int) {
        let capacity = self.capacity
        reports.withLock { reports in
            guard let index = reports.firstIndex(where: { $0.target == decision.target }) else { return }
            reports[index].currentReplicas = decision.currentReplicas
            reports[index].readyReplicas = ready
            reports[index].desiredReplicas = decision.desiredReplicas
            reports[index].decisions.insert(decision, at: 0)
            if reports[index].decisions.count > capacity { reports[index].decisions.removeLast() }
        }
        let target = decision.target
        Gauge(label: "wedsync_autoscaler_replicas", dimensions: [("target", target), ("state", "current")])
            .record(decision.currentReplicas)
        Gauge(label: "wedsync_autoscaler_replicas", dimensions: [("target", target), ("state", "ready")]).record(ready)
        Gauge(label: "wedsync_autoscaler_replicas", dimensions: [("target", target), ("state", "desired")])
            .record(decision.desiredReplicas)
        Counter(
            label: "wedsync_autoscaler_decisions_total",
            dimensions: [("target", target), ("rule", decision.rule.rawValue)]
        ).increment()
        if decision.desiredReplicas != decision.currentReplicas {
            let direction = decision.desiredReplicas > decision.currentReplicas ? "up" : "down"
            Counter(
                label: "wedsync_autoscaler_scale_total",
                dimensions: [("target", target), ("direction", direction)]
            )
            .increment()
        }
    }

    /// Records that a target's replicas could not be read or set; `nil` clears it. Whether it differs from the
    /// last one (a failure is logged once, not every tick).
    @discardableResult
    public func recordError(_ error: String?, target: String) -> Bool {
        let changed = reports.withLock { reports in
            guard let index = reports.firstIndex(where: { $0.target == target }) else { return false }
            defer { reports[index].lastError = error }
            return reports[index].lastError != error
        }
        if error != nil {
            Counter(label: "wedsync_autoscaler_actuation_errors_total", dimensions: [("target", target)]).increment()
        }
        return changed
    }

    /// The report, with at most `limit` decisions a target.
    public func report(limit: Int) -> DecisionsReport {
        let targets = reports.withLock { $0 }.map { report in
            var report = report
            report.decisions = Array(report.decisions.prefix(limit))
            return report
        }
        return DecisionsReport(actuator: actuator, intervalSeconds: interval.seconds, targets: targets)
    }
}
