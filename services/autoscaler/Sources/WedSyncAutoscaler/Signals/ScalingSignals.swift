import Foundation

/// Where the autoscaler reads its metrics: what each of a target's metrics reads now. A metric it could not read is
/// left out, and the decision counts it as HPA does (100% of target when scaling down, 0% when scaling up).
public protocol ScalingSignals: Sendable {
    func readings(for target: ScalingTarget) async -> [MetricTarget.Kind: MetricReading]
}
