import Foundation

/// One decision for one target, explained: what it read, the rule that won, and a sentence an operator can read at
/// `GET /v1/decisions`.
public struct ScalingDecision: Sendable, Codable, Equatable {
    /// What decided the replicas.
    public enum Rule: String, Sendable, Codable, CaseIterable {
        case metric
        case tolerance
        case missingMetric = "missing-metric"
        case schedule
        case calendar
        case forecast
        case minReplicas = "min-replicas"
        case maxReplicas = "max-replicas"
        case stabilization
        case scaleUpPolicy = "scale-up-policy"
        case scaleDownPolicy = "scale-down-policy"
        case liveWeddingFreeze = "live-wedding-freeze"
    }

    /// A metric's figure and the replicas it asked for.
    public struct MetricInput: Sendable, Codable, Equatable {
        public var metric: String
        /// `nil` when the metric could not be read.
        public var value: Double?
        public var target: Double
        public var replicas: Int?
    }

    public struct Inputs: Sendable, Codable, Equatable {
        public var readyReplicas: Int
        public var metrics: [MetricInput]
        public var scheduleFloor: Int
        public var schedules: [String]
        public var calendarFloor: Int
        public var weddingsInPlay: Int
        /// The forecast floor, whether or not it was applied (`forecast-only` records it alone).
        public var forecastFloor: Int
        public var forecastApplied: Bool
        /// Time zones with a ceremony live.
        public var liveZones: [String]
        /// Missing inputs (a metric, the calendar, the forecast) by name.
        public var missing: [String]
    }

    public var target: String
    public var at: Date
    public var currentReplicas: Int
    public var desiredReplicas: Int
    public var rule: Rule
    public var reason: String
    public var inputs: Inputs
}
