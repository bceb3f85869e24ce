import Foundation

/// A decision of the autoscaler for one scalable target (the API replicas, the cache replicas).
public struct ScalingDecision: Codable, Sendable, Equatable {
    /// What to scale: `api`, `cache`.
    public var target: String
    public var currentReplicas: Int
    public var desiredReplicas: Int
    /// Why, in words: which signal drove it (`p95 latency 240 ms > 200 ms`, `Saturday: 14 weddings`).
    public var reason: String
    /// The signals that were read, by name (`cpu`, `p95Ms`, `requestRate`, `weddingsTomorrow`).
    public var signals: [String: Double]
    /// Whether the decision was applied or only recommended (dry run, cool-down, limits).
    public var applied: Bool
    public var at: Date

    public init(
        target: String,
        currentReplicas: Int,
        desiredReplicas: Int,
        reason: String,
        signals: [String: Double] = [:],
        applied: Bool,
        at: Date
    ) {
        self.target = target
        self.currentReplicas = currentReplicas
        self.desiredReplicas = desiredReplicas
        self.reason = reason
        self.signals = signals
        self.applied = applied
        self.at = at
    }

    /// Up, down or hold.
    public var direction: Direction {
        if desiredReplicas > currentReplicas { return .up }
        if desiredReplicas < currentReplicas { return .down }
        return .hold
    }

    /// Which way a decision goes.
    public enum Direction: String, Codable, Sendable {
        case up, down, hold
    }
}
