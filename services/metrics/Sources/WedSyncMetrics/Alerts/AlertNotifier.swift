import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import WedSyncModels
import WedSyncServiceKit

/// Where notifications go: a generic webhook (Alertmanager's payload, version 4) or a Slack incoming webhook, for
/// the severities listed. The URL is a secret: it is never logged or shown.
public struct AlertReceiver: Sendable {
    public enum Channel: String, Sendable {
        case webhook
        case slack
    }

    public var name: String
    public var channel: Channel
    public var url: String
    public var severities: Set<AlertSeverity>

    public init(name: String, channel: Channel, url: String, severities: Set<AlertSeverity> = Set(AlertSeverity.allCases)) {
        self.name = name
        self.channel = channel
        self.url = url
        self.severities = severities
    }
}

/// Sends each group of alerts to the receivers of its severity, retrying with exponential backoff, and keeps a
/// record of every notification (the last 1,000) for `GET /v1/notifications`.
public final class AlertNotifier: Sendable {
    let receivers: [AlertReceiver]
    let externalURL: String
    let maximumAttempts: Int
    let initialBackoff: Duration
    let logger: Logger
    private let records = Mutex<(next: Int, list: [NotificationRecord])>((1, []))

    public init(receivers: [AlertReceiver], externalURL: String, maximumAttempts: Int = 5, initialBackoff: Duration = .milliseconds(500), logger: Logger) {
        self.receivers = receivers
        self.externalURL = externalURL
        self.maximumAttempts = maximumAttempts
        self.initialBackoff = initialBackoff
        self.logger = logger
    }

    /// Every notification, newest first.
    public var notifications: [NotificationRecord] {
        records.withLock { $0.list.reversed() }
    }

    /// Sends `alerts` (one rule, all `firing` or all `resolved`) to every receiver of their severity, in the
    /// background; returns the records made.
    @discardableResult
    public func notify(rule: String, status: String, severity: AlertSeverity, alerts: [Alert]) -> [Int] {
        guard !alerts.isEmpty else { return [] }
        var ids: [Int] = []
        for receiver in receivers where receiver.severities.contains(severity) {
            let body: Data
            switch receiver.channel {
            case .webhook: body = Self.alertmanagerPayload(receiver: receiver.name, rule: rule, status: status, alerts: alerts, externalURL: externalURL)
            case .slack: body = Self.slackPayload(rule: rule, status: status, severity: severity, alerts: alerts)
            }
            let now = Date()
            let id = records.withLock { records -> Int in
                let id = records.next
                records.next += 1
                records.list.append(
                    NotificationRecord(
                        id: id, receiver: receiver.name, channel: receiver.channel.rawValue, alertName: rule, status: status, alerts: alerts.count,
                        attempts: 0, delivered: false, lastError: nil, createdAt: now, updatedAt: now
                    )
                )
                if records.list.count > 1_000 { records.list.removeFirst(records.list.count - 1_000) }
                return id
            }
            ids.append(id)
            Task { await self.deliver(id: id, to: receiver, body: body) }
        }
        return ids
    }

    private func deliver(id: Int, to receiver: AlertReceiver, body: Data) async {
        var backoff = initialBackoff
        for attempt in 1...maximumAttempts {
            var error: String?
            do {
                var request = HTTPClientRequest(url: receiver.url)
                request.method = .POST
                request.headers.add(name: "content-type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await ServiceClient.sharedHTTPClient.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 1 << 16)
                if !(200..<300).contains(Int(response.status.code)) { error = "the receiver answered \(response.status.code)" }
            } catch let failure {
                error = "the receiver could not be reached (\(type(of: failure)))"
            }
            update(id) { record in
                record.attempts = attempt
                record.delivered = error == nil
                record.lastError = error
                record.updatedAt = Date()
            }
            guard let error else { return }
            logger.warning(
                "notification not delivered",
                metadata: ["alert.receiver": "\(receiver.name)", "alert.attempt": "\(attempt)", "error": "\(error)"]
            )
            if attempt < maximumAttempts {
                try? await Task.sleep(for: backoff)
                backoff *= 2
            }
        }
    }

    private func update(_ id: Int, _ change: (inout NotificationRecord) -> Void) {
        records.withLock { records in
            if let index = records.list.firstIndex(where: { $0.id == id }) { change(&records.list[index]) }
        }
    }

    // MARK: Payloads

    /// Alertmanager's webhook payload, version 4.
    static func alertmanagerPayload(receiver: String, rule: String, status: String, alerts: [Alert], externalURL: String) -> Data {
        let zero = "0001-01-01T00:00:00Z"
        let common = alerts.dropFirst().reduce(alerts[0].labels.merging(["alertname": rule]) { $1 }) { common, alert in
            common.filter { alert.labels.merging(["alertname": rule]) { $1 }[$0.key] == $0.value }
        }
        let commonAnnotations = alerts.dropFirst().reduce(alerts[0].annotations) { common, alert in
            common.filter { alert.annotations[$0.key] == $0.value }
        }
        let payload: [String: Any] = [
            "version": "4",
            "groupKey": "{}:{alertname=\"\(rule)\"}",
            "truncatedAlerts": 0,
            "status": status,
            "receiver": receiver,
            "groupLabels": ["alertname": rule],
            "commonLabels": common,
            "commonAnnotations": commonAnnotations,
            "externalURL": externalURL,
            "alerts": alerts.map { alert -> [String: Any] in
                [
                    "status": status,
                    "labels": alert.labels.merging(["alertname": rule]) { $1 },
                    "annotations": alert.annotations,
                    "startsAt": ISO8601.format(alert.startsAt),
                    "endsAt": alert.endsAt.map(ISO8601.format) ?? zero,
                    "generatorURL": "\(externalURL)/v1/alerts",
                    "fingerprint": SHA256.hash(data: Data(alert.fingerprint.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined(),
                ]
            },
        ]
        return (try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    /// A Slack incoming-webhook message: one line of text and a block per alert.
    static func slackPayload(rule: String, status: String, severity: AlertSeverity, alerts: [Alert]) -> Data {
        let icon = status == "firing" ? (severity == .critical ? ":red_circle:" : ":large_orange_circle:") : ":white_check_mark:"
        let title = "\(icon) [\(status.uppercased()):\(alerts.count)] \(rule) (\(severity.rawValue))"
        // Labels come from ingested events: escaped, so a route cannot ping a channel or carry a link.
        func escaped(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        var lines = alerts.prefix(20).map { alert -> String in
            let where_ = alert.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\(escaped($0.value))" }.joined(separator: " ")
            let summary = alert.annotations["summary"].map { " — \(escaped($0))" } ?? ""
            return "• \(String(where_.prefix(200))): \(String(format: "%.3g", alert.value))\(summary)"
        }
        if alerts.count > 20 { lines.append("… and \(alerts.count - 20) more") }
        let payload: [String: Any] = [
            "text": title,
            "blocks": [
                ["type": "section", "text": ["type": "mrkdwn", "text": "*\(title)*"]],
                ["type": "section", "text": ["type": "mrkdwn", "text": lines.joined(separator: "\n")]],
            ],
        ]
        return (try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])) ?? Data("{}".utf8)
    }
}
