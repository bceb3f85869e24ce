import Foundation

/// One replica's figure for a metric reported per replica (CPU, pool utilisation).
public struct ReplicaSample: Sendable, Equatable {
    /// `nil` when the replica reported nothing.
    public var value: Double?
    /// Passing its readiness check.
    public var ready: Bool
    /// Since the replica started: a CPU figure from its first minutes counts as not ready (start-up spikes).
    public var age: Duration

    public init(value: Double?, ready: Bool = true, age: Duration = .seconds(3600)) {
        self.value = value
        self.ready = ready
        self.age = age
    }
}

/// What a metric reads now: a figure for the whole target (requests per second over the pool, p95 latency), or a
/// figure per replica.
public enum MetricReading: Sendable, Equatable {
    case total(Double)
    case perReplica([ReplicaSample])

    /// The figure shown in a decision: the total, or the mean of the replicas that reported.
    var shown: Double? {
        switch self {
        case .total(let value): return value
        case .perReplica(let samples):
            let values = samples.compactMap(\.value)
            return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
        }
    }
}
