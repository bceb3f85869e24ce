import Foundation

/// The replicas one metric asks for, by the `HorizontalPodAutoscaler` v2 algorithm:
/// `desired = ceil(current × metric / target)`, no change within the tolerance, and for figures per replica: a replica
/// with no figure counts as 100% of the target when scaling down and 0% when scaling up; a replica not ready (or, for
/// CPU, younger than the initialization period) counts as 0% when scaling up and is left out otherwise; and a change
/// those assumptions would reverse is no change.
public enum ReplicaCalculator {
    /// For a figure of the whole target. An average-value metric (`requests-per-replica`) divides the total:
    /// `ceil(total / target)`; a value metric (p95 latency) scales the ready replicas: `ceil(ready × value / target)`.
    public static func desired(
        current: Int,
        ready: Int,
        total: Double,
        target: Double,
        averageValue: Bool,
        tolerance: Double
    ) -> Int {
        if averageValue {
            let ratio = total / (target * Double(max(current, 1)))
            if abs(ratio - 1) <= tolerance { return current }
            return Int((total / target).rounded(.up))
        }
        let ratio = total / target
        if abs(ratio - 1) <= tolerance { return current }
        return Int((ratio * Double(max(ready, 1))).rounded(.up))
    }

    /// For figures per replica (HPA's plain metric replicas). `nil` when no ready replica reported.
    public static func desired(
        current: Int,
        samples: [ReplicaSample],
        target: Double,
        tolerance: Double,
        initializationPeriod: Duration? = nil
    ) -> Int? {
        func isReady(_ sample: ReplicaSample) -> Bool {
            sample.ready && (initializationPeriod.map { sample.age >= $0 } ?? true)
        }
        let measured = samples.filter { isReady($0) && $0.value != nil }.map { $0.value! }
        guard !measured.isEmpty else { return nil }
        let missing = samples.filter { isReady($0) && $0.value == nil }.count
        let unready = samples.filter { !isReady($0) }.count
        let ratio = measured.reduce(0, +) / Double(measured.count) / target
        let scaleUpWithUnready = unready > 0 && ratio > 1
        if !scaleUpWithUnready, missing == 0 {
            if abs(ratio - 1) <= tolerance { return current }
            return Int((ratio * Double(measured.count)).rounded(.up))
        }
        var values = measured
        if missing > 0 { values += Array(repeating: ratio < 1 ? target : 0, count: missing) }
        if scaleUpWithUnready { values += Array(repeating: 0, count: unready) }
        let newRatio = values.reduce(0, +) / Double(values.count) / target
        if abs(newRatio - 1) <= tolerance || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1) {
            return current
        }
        let replicas = Int((newRatio * Double(values.count)).rounded(.up))
        if (newRatio < 1 && replicas > current) || (newRatio > 1 && replicas < current) { return current }
        return replicas
    }
}
