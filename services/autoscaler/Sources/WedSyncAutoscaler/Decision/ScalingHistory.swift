import Foundation

/// What a target's past decisions bound the next one by, as `HorizontalPodAutoscaler` v2 keeps it: the
/// recommendations of the stabilization windows and the scale events of the rate policies' periods.
public struct ScalingHistory: Sendable {
    struct Recommendation {
        var at: Date
        var replicas: Int
    }

    struct Event {
        var at: Date
        /// Replicas added (positive) or removed (negative).
        var change: Int
    }

    var recommendations: [Recommendation] = []
    var events: [Event] = []

    public init() {}

    /// Stabilizes `desired`: scaling up takes the lowest recommendation of the scale-up window, scaling down the
    /// highest of the scale-down window (so a dip must last the whole window), and records `desired`.
    mutating func stabilize(_ desired: Int, current: Int, behavior: ScalingBehavior, now: Date) -> Int {
        let upCutoff = now.addingTimeInterval(-behavior.scaleUp.stabilization.seconds)
        let downCutoff = now.addingTimeInterval(-behavior.scaleDown.stabilization.seconds)
        var up = desired
        var down = desired
        for recommendation in recommendations {
            if recommendation.at > upCutoff { up = min(up, recommendation.replicas) }
            if recommendation.at > downCutoff { down = max(down, recommendation.replicas) }
        }
        let oldest = min(upCutoff, downCutoff)
        recommendations.removeAll { $0.at <= oldest }
        recommendations.append(Recommendation(at: now, replicas: desired))
        var result = current
        if result < up { result = up }
        if result > down { result = down }
        return result
    }

    /// The most replicas the scale-up policies allow now (never fewer than `current`).
    func scaleUpLimit(current: Int, rules: ScalingRules, now: Date) -> Int {
        guard rules.select != .disabled, !rules.policies.isEmpty else { return current }
        var limits: [Int] = []
        for policy in rules.policies {
            let added = changes(within: policy.period, now: now).filter { $0 > 0 }.reduce(0, +)
            let periodStart = current - added
            switch policy.kind {
            case .replicas: limits.append(periodStart + policy.value)
            case .percent:
                limits.append(Int((Double(periodStart) * (1 + Double(policy.value) / 100)).rounded(.up)))
            }
        }
        let limit = rules.select == .max ? limits.max()! : limits.min()!
        return max(limit, current)
    }

    /// The fewest replicas the scale-down policies allow now (never more than `current`).
    func scaleDownLimit(current: Int, rules: ScalingRules, now: Date) -> Int {
        guard rules.select != .disabled, !rules.policies.isEmpty else { return current }
        var limits: [Int] = []
        for policy in rules.policies {
            let removed = -changes(within: policy.period, now: now).filter { $0 < 0 }.reduce(0, +)
            let periodStart = current + removed
            switch policy.kind {
            case .replicas: limits.append(periodStart - policy.value)
            case .percent: limits.append(Int(Double(periodStart) * (1 - Double(policy.value) / 100)))
            }
        }
        let limit = rules.select == .max ? limits.min()! : limits.max()!
        return min(limit, current)
    }

    /// Records that the replicas changed by `change` at `now`.
    mutating func record(change: Int, at now: Date, keep: Duration) {
        guard change != 0 else { return }
        events.removeAll { $0.at <= now.addingTimeInterval(-keep.seconds) }
        events.append(Event(at: now, change: change))
    }

    private func changes(within period: Duration, now: Date) -> [Int] {
        let cutoff = now.addingTimeInterval(-period.seconds)
        return events.filter { $0.at > cutoff }.map(\.change)
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    var seconds: TimeInterval {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
