import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import WedSyncModels
import WedSyncServiceKit

/// Where notifications go, for the severities listed: a generic webhook (Alertmanager's payload, version 4), a
/// Slack incoming webhook, or email over SMTP. URLs are secrets: they are never logged or shown.
public struct AlertReceiver: Sendable {
    public enum Destination: Sendable {
        case webhook(url: String)
        case slack(url: String)
        case email(SMTPMailer)
    }

    public var name: String
    public var destination: Destination
    public var severities: Set<AlertSeverity>

    public init(name: String, destination: Destination, severities: Set<AlertSeverity> = Set(AlertSeverity.allCases)) {
        self.name = name
        self.destination = destination
        self.severities = severities
    }

    /// `webhook`, `slack` or `email`.
    public var channel: String {
        switch destination {
        case .webhook: "webhook"
        case .slack: "slack"
        case .email: "email"
        }
    }
}

/// Sends each group of alerts to the receivers of its severity and keeps a record of every notification (the last
/// 1,000) for `GET /v1/notifications`.
///
/// Each receiver has a delivery queue of its own (a ``BackgroundDelivery``, `wedsync_delivery_*{queue="alerts-<name>"}`):
/// a slow SMTP server never holds up the webhook, a receiver gets its notifications in order (a `resolved` never
/// overtakes its `firing`), retries back off exponentially, and at shutdown what is queued gets its last attempt
/// before the process exits. Run it as a service, registered before the ``AlertEngine`` that feeds it (so it stops
/// after it). Mail is sent on two threads the notifier owns, never on the threads that commit events.
public final class AlertNotifier: Service, Sendable {
    let receivers: [AlertReceiver]
    let externalURL: String
    let logger: Logger
    private let log = NotificationLog()
    private let queues: [BackgroundDelivery<Delivery>]
    private let mailThreads: NIOThreadPool

    public init(
        receivers: [AlertReceiver],
        externalURL: String,
        maximumAttempts: Int = 5,
        initialBackoff: Duration = .milliseconds(500),
        logger: Logger
    ) {
        self.receivers = receivers
        self.externalURL = externalURL
        self.logger = logger
        let (log, mailThreads) = (log, NIOThreadPool(numberOfThreads: 2))
        self.mailThreads = mailThreads
        // One notification a batch; the backoff doubles from `initialBackoff` for each of the attempts.
        let configuration = BackgroundDelivery<Delivery>.Configuration(
            capacity: 1_000,
            batchSize: 1,
            maximumAttempts: maximumAttempts,
            initialBackoff: initialBackoff,
            maximumBackoff: initialBackoff * (1 << max(0, min(maximumAttempts - 2, 20))),
            flushTimeout: .seconds(5)
        )
        self.queues = receivers.map { receiver in
            BackgroundDelivery(name: "alerts-\(receiver.name)", configuration: configuration, logger: logger) { batch in
                for delivery in batch {
                    let error = await Self.attempt(delivery.message, mailThreads: mailThreads)
                    let attempts = log.update(delivery.id) { record in
                        record.attempts += 1
                        record.delivered = error == nil
                        record.lastError = error
                        record.updatedAt = Date()
                    }
                    guard let error else { continue }
                    logger.warning(
                        "notification not delivered",
                        metadata: [
                            "alert.receiver": "\(receiver.name)", "alert.attempt": "\(attempts)", "error": "\(error)",
                        ]
                    )
                    throw NotDelivered(reason: error)
                }
            }
        }
    }

    /// Runs every receiver's queue until graceful shutdown, then lets each flush; the mail threads live as long.
    public func run() async throws {
        mailThreads.start()
        await withDiscardingTaskGroup { group in
            for queue in queues { group.addTask { try? await queue.run() } }
            // With no receiver there is nothing to run, but the service must not end before the others.
            if queues.isEmpty { group.addTask { try? await gracefulShutdown() } }
        }
        try await mailThreads.shutdownGracefully()
    }

    /// Every notification, newest first.
    public var notifications: [NotificationRecord] {
        log.records
    }

    /// Queues `alerts` (one rule, all `firing` or all `resolved`) for every receiver of their severity; returns the
    /// records made.
    @discardableResult
    public func notify(rule: String, status: String, severity: AlertSeverity, alerts: [Alert]) -> [Int] {
        guard !alerts.isEmpty else { return [] }
        var ids: [Int] = []
        for (receiver, queue) in zip(receivers, queues) where receiver.severities.contains(severity) {
            let message: Message
            switch receiver.destination {
            case .webhook(let url):
                message = .http(
                    url: url,
                    body: Self.alertmanagerPayload(
                        receiver: receiver.name,
                        rule: rule,
                        status: status,
                        alerts: alerts,
                        externalURL: externalURL
                    )
                )
            case .slack(let url):
                message = .http(
                    url: url,
                    body: Self.slackPayload(rule: rule, status: status, severity: severity, alerts: alerts)
                )
            case .email(let mailer):
                let mail = Self.emailMessage(
                    rule: rule,
                    status: status,
                    severity: severity,
                    alerts: alerts,
                    externalURL: externalURL
                )
                message = .email(mailer, subject: mail.subject, body: mail.body)
            }
            let id = log.add(receiver: receiver, rule: rule, status: status, alerts: alerts.count)
            ids.append(id)
            if !queue.submit(Delivery(id: id, message: message)) {
                log.update(id) { $0.lastError = "not sent: the receiver's queue is full" }
            }
        }
        return ids
    }

    /// What one receiver is sent.
    enum Message: Sendable {
        case http(url: String, body: Data)
        case email(SMTPMailer, subject: String, body: String)
    }

    /// A notification on its way to one receiver.
    struct Delivery: Sendable {
        var id: Int
        var message: Message
    }

    /// Why an attempt failed (never the URL): the queue tries again.
    struct NotDelivered: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    /// One attempt: nil when delivered, else why not (never the URL).
    private static func attempt(_ message: Message, mailThreads: NIOThreadPool) async -> String? {
        switch message {
        case .http(let url, let body):
            do {
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                request.headers.add(name: "content-type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await ServiceClient.sharedHTTPClient.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 1 << 16)
                return (200..<300).contains(Int(response.status.code))
                    ? nil : "the receiver answered \(response.status.code)"
            } catch {
                return "the receiver could not be reached (\(type(of: error)))"
            }
        case .email(let mailer, let subject, let body):
            do {
                try await mailer.send(subject: subject, body: body, on: mailThreads)
                return nil
            } catch {
                return error.replyCode > 0
                    ? "the SMTP server answered \(error.replyCode): \(error.description)" : "SMTP: \(error.description)"
            }
        }
    }

    // MARK: Payloads

    /// Alertmanager's webhook payload, version 4.
    static func alertmanagerPayload(
        receiver: String,
        rule: String,
        status: String,
        alerts: [Alert],
        externalURL: String
    ) -> Data {
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
                    "fingerprint": SHA256.hash(data: Data(alert.fingerprint.utf8)).prefix(8).map {
                        String(format: "%02x", $0)
                    }.joined(),
                ]
            },
        ]
        return (try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    /// An email: the subject says status, count, rule and severity; the body has a line per alert with its labels,
    /// value and annotations.
    static func emailMessage(
        rule: String,
        status: String,
        severity: AlertSeverity,
        alerts: [Alert],
        externalURL: String
    ) -> (subject: String, body: String) {
        let subject = "[\(status.uppercased()):\(alerts.count)] \(rule) (\(severity.rawValue))"
        var lines = [
            "\(alerts.count) alert\(alerts.count == 1 ? "" : "s") \(status) for rule \(rule), severity \(severity.rawValue).",
            "",
        ]
        for alert in alerts.prefix(100) {
            let labels = alert.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            lines.append(
                "- \(String(labels.prefix(300))): value \(String(format: "%.4g", alert.value)), since \(ISO8601.format(alert.startsAt))"
            )
            for (key, value) in alert.annotations.sorted(by: { $0.key < $1.key }) {
                lines.append("    \(key): \(String(value.prefix(500)))")
            }
        }
        if alerts.count > 100 { lines.append("... and \(alerts.count - 100) more") }
        lines += ["", "Alerts: \(externalURL)/v1/alerts", "Silence: POST \(externalURL)/v1/silences"]
        return (subject, lines.joined(separator: "\n"))
    }

    /// A Slack incoming-webhook message: one line of text and a block per alert.
    static func slackPayload(rule: String, status: String, severity: AlertSeverity, alerts: [Alert]) -> Data {
        let icon =
            status == "firing"
            ? (severity == .critical ? ":red_circle:" : ":large_orange_circle:") : ":white_check_mark:"
        let title = "\(icon) [\(status.uppercased()):\(alerts.count)] \(rule) (\(severity.rawValue))"
        // Labels come from ingested events: escaped, so a route cannot ping a channel or carry a link.
        func escaped(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }
        var lines = alerts.prefix(20).map { alert -> String in
            let where_ = alert.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\(escaped($0.value))" }.joined(
                separator: " "
            )
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
