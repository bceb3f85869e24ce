import Foundation
import WedSyncModels
import WedSyncServiceKit

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

/// A silence (`POST /v1/silences`): alerts whose labels match every matcher are not notified between `startsAt`
/// and `endsAt`. `alertname` matches the rule's name.
public struct Silence: Codable, Sendable, Equatable {
    public var id: String
    public var matchers: [String: String]
    public var startsAt: Date
    public var endsAt: Date
    public var createdBy: String
    public var comment: String

    public init(
        id: String,
        matchers: [String: String],
        startsAt: Date,
        endsAt: Date,
        createdBy: String,
        comment: String
    ) {
        self.id = id
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdBy = createdBy
        self.comment = comment
    }

    /// Whether it silences `alert` at `now`.
    public func silences(_ alert: Alert, at now: Date) -> Bool {
        guard startsAt <= now, now < endsAt else { return false }
        return matchers.allSatisfy { key, value in key == "alertname" ? alert.name == value : alert.labels[key] == value
        }
    }
}

/// A new silence, as posted.
public struct SilenceRequest: Codable, Sendable, Equatable {
    public var matchers: [String: String]
    public var startsAt: Date?
    public var endsAt: Date
    public var createdBy: String
    public var comment: String

    public init(matchers: [String: String], startsAt: Date? = nil, endsAt: Date, createdBy: String, comment: String) {
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdBy = createdBy
        self.comment = comment
    }
}

/// One notification sent to a receiver (`GET /v1/notifications`): a group of alerts of one rule that fired or
/// resolved, its attempts, and whether it was delivered.
public struct NotificationRecord: Codable, Sendable, Equatable {
    public var id: Int
    public var receiver: String
    /// `webhook` or `slack`.
    public var channel: String
    public var alertName: String
    /// `firing` or `resolved`.
    public var status: String
    public var alerts: Int
    public var attempts: Int
    public var delivered: Bool
    /// The last failure (a status code or a connection error), never the receiver's URL.
    public var lastError: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int,
        receiver: String,
        channel: String,
        alertName: String,
        status: String,
        alerts: Int,
        attempts: Int,
        delivered: Bool,
        lastError: String?,
        createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.receiver = receiver
        self.channel = channel
        self.alertName = alertName
        self.status = status
        self.alerts = alerts
        self.attempts = attempts
        self.delivered = delivered
        self.lastError = lastError
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

extension Alert: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "name": .string(), "state": .described(.string(), "inactive, pending, firing or resolved"),
                "severity": .string(),
                "labels": .object([:], required: []), "annotations": .object([:], required: []), "value": .number,
                "startsAt": .string(format: "date-time"), "endsAt": .string(format: "date-time"),
            ],
            required: ["name", "state", "severity", "labels", "annotations", "value", "startsAt"]
        )
    }
}

extension Silence: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "id": .string(), "matchers": .object([:], required: []), "startsAt": .string(format: "date-time"),
                "endsAt": .string(format: "date-time"), "createdBy": .string(), "comment": .string(),
            ],
            required: ["id", "matchers", "startsAt", "endsAt", "createdBy", "comment"]
        )
    }
}

extension SilenceRequest: OpenAPISchemaProviding {
    /// A matcher's label, a matcher's value, and the author and comment.
    static let labelRule = TextRule.name(100)
    static let valueRule = TextRule(0...1_000)
    static let textRule = TextRule.freeText(1_000)

    public static var openAPISchema: JSONSchema {
        .object(
            [
                "matchers": .described(
                    .constrained(
                        .map(valueRule.schema),
                        ["minProperties": 1, "maxProperties": 100, "propertyNames": labelRule.schema.json]
                    ),
                    "label=value pairs; alertname is the rule"
                ),
                "startsAt": .nullable(.requestDateTime), "endsAt": .requestDateTime, "createdBy": textRule.schema,
                "comment": textRule.schema,
            ],
            required: ["matchers", "endsAt", "createdBy", "comment"]
        )
    }
}

extension NotificationRecord: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "id": .integer(), "receiver": .string(), "channel": .string(), "alertName": .string(),
                "status": .string(), "alerts": .integer(),
                "attempts": .integer(), "delivered": .boolean, "lastError": .string(),
                "createdAt": .string(format: "date-time"),
                "updatedAt": .string(format: "date-time"),
            ],
            required: [
                "id", "receiver", "channel", "alertName", "status", "alerts", "attempts", "delivered", "createdAt",
                "updatedAt",
            ]
        )
    }
}
