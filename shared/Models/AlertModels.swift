import Foundation

/// How bad an alert is; routing to channels is by severity.
public enum AlertSeverity: String, Codable, Sendable, CaseIterable, Comparable {
    case info, warning, critical

    private var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .critical: 2
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

/// Where an alert is in its life, as in Prometheus: inactive → pending (condition true, `for` not yet elapsed)
/// → firing → resolved.
public enum AlertState: String, Codable, Sendable {
    case inactive, pending, firing, resolved
}

/// One alert instance: a rule whose condition holds for one set of labels.
public struct Alert: Codable, Sendable, Equatable {
    /// The rule's name, e.g. `RouteLatencyHigh`.
    public var name: String
    public var state: AlertState
    public var severity: AlertSeverity
    /// Identifying labels (`route`, `service`); never personal data.
    public var labels: [String: String]
    /// Human text: `summary`, `description`, `runbook`.
    public var annotations: [String: String]
    /// The value of the condition's series when last evaluated.
    public var value: Double
    public var startsAt: Date
    public var endsAt: Date?

    public init(
        name: String,
        state: AlertState,
        severity: AlertSeverity,
        labels: [String: String] = [:],
        annotations: [String: String] = [:],
        value: Double,
        startsAt: Date,
        endsAt: Date? = nil
    ) {
        self.name = name
        self.state = state
        self.severity = severity
        self.labels = labels
        self.annotations = annotations
        self.value = value
        self.startsAt = startsAt
        self.endsAt = endsAt
    }

    /// A stable identity for the alert: its name and labels, independent of dictionary order.
    public var fingerprint: String {
        ([name] + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: ",")
    }
}
