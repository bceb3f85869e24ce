import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WedSyncMetrics
import WedSyncModels
import WedSyncTestSupport

/// Alerts end to end: a metrics process with a rules file, events that breach, and real deliveries to local
/// receivers (the webhook in Alertmanager's format, Slack), retried when the receiver fails; silences.
@Suite("Metrics service: alerts, notifications, silences", .serialized)
struct MetricsAlertTests {
    static let run = UUID().uuidString.prefix(8)

    @Test(
        "A breach fires, a webhook and Slack get it (Slack after two failures, retried), a silence holds one rule back, and the alert resolves"
    )
    func notifications() async throws {
        let webhook = try await HTTPReceiver()
        let slack = try await HTTPReceiver(failFirstPosts: 2)
        let slow = "/api/slow-\(Self.run)"
        let quiet = "/api/quiet-\(Self.run)"
        let rules = """
            rules:
              - name: Slow\(Self.run)
                metric: p99
                route: \(slow)
                condition: "> 100"
                window: 20s
                for: 0s
                keep-firing-for: 1s
                severity: critical
                labels: {team: platform}
                annotations: {summary: "p99 above 100 ms"}
              - name: Quiet\(Self.run)
                metric: p99
                route: \(quiet)
                condition: "> 100"
                window: 20s
                for: 0s
                severity: critical
            """
        let rulesPath = FileManager.default.temporaryDirectory.appendingPathComponent("alerts-\(Self.run).yaml").path
        try rules.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let database = MetricsServiceTests.databasePath()
        let service = try ServiceProcess(
            "wedsync-metrics",
            environment: [
                "WEDSYNC_METRICS_DATABASE": database, "WEDSYNC_METRICS_ALERTS_FILE": rulesPath,
                "WEDSYNC_METRICS_ALERTS_WEBHOOK_URL": webhook.baseURL + "/hooks/alertmanager",
                "WEDSYNC_METRICS_ALERTS_SLACK_URL": slack.baseURL + "/hooks/slack",
                "WEDSYNC_METRICS_ALERTS_EVALUATION_MS": "200", "WEDSYNC_METRICS_ALERTS_RETRY_MS": "100",
                "WEDSYNC_ADMIN_TOKEN": GatewayProcess.adminToken,
                "WEDSYNC_LOG_LEVEL": "error",
            ]
        )
        try await service.waitUntil("/ready")
        let silence = try await HTTP.send(
            .POST,
            service.baseURL + "/v1/silences",
            headers: GatewayProcess.admin + [("Content-Type", "application/json")],
            body:
                #"{"matchers":{"alertname":"Quiet\#(Self.run)"},"endsAt":"\#(ISO8601.format(Date().addingTimeInterval(3600)))","createdBy":"test","comment":"maintenance"}"#
        )
        #expect(silence.status == 201, "\(silence.text)")
        #expect(try await HTTP.send(.POST, service.baseURL + "/v1/silences", body: "{}").status == 401)
        for route in [slow, quiet] {
            let answer = try await MetricsServiceTests.post(
                service,
                MetricsServiceTests.batch(route: route, durations: Array(repeating: 450, count: 50))
            )
            #expect(answer.status == 200)
        }
        let fired = await eventually(timeout: .seconds(30)) {
            webhook.requests.contains { ($0["body"] ?? "").contains("\"status\":\"firing\"") }
        }
        #expect(fired)
        // The silenced rule fires too (looked at now, while its bucket is still in the window), but nobody hears of it.
        let quietFiring = await eventually(timeout: .seconds(15)) {
            let alerts =
                (try? await HTTP.get(service.baseURL + "/v1/alerts", headers: TestCredentials.asMonitor)).flatMap {
                    try? WedSyncJSON.makeDecoder().decode([Alert].self, from: $0.data)
                } ?? []
            return alerts.contains { $0.name == "Quiet\(Self.run)" && $0.state == .firing }
        }
        #expect(quietFiring, "the silenced rule fires too")
        let payload = try #require(
            webhook.requests.first { ($0["body"] ?? "").contains("\"status\":\"firing\"") }?["body"]
        )
        let json = try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
        #expect(json["version"] as? String == "4")
        #expect(json["receiver"] as? String == "webhook")
        #expect((json["groupLabels"] as? [String: String])?["alertname"] == "Slow\(Self.run)")
        let alert = try #require((json["alerts"] as? [[String: Any]])?.first)
        #expect((alert["labels"] as? [String: String])?["route"] == slow)
        #expect((alert["labels"] as? [String: String])?["team"] == "platform")
        #expect((alert["annotations"] as? [String: String])?["summary"] == "p99 above 100 ms")
        #expect(alert["endsAt"] as? String == "0001-01-01T00:00:00Z")
        // Slack failed twice, then took it.
        let slackDelivered = await eventually(timeout: .seconds(20)) {
            let records =
                (try? await HTTP.get(service.baseURL + "/v1/notifications", headers: TestCredentials.asMonitor)).flatMap
            { try? WedSyncJSON.makeDecoder().decode([NotificationRecord].self, from: $0.data) } ?? []
            return records.contains { $0.channel == "slack" && $0.delivered && $0.attempts == 3 }
        }
        #expect(slackDelivered)
        #expect(slack.requests.filter { ($0["body"] ?? "").contains("FIRING") }.count == 3)
        // Nobody heard of the silenced rule's firing.
        #expect(!webhook.requests.contains { ($0["body"] ?? "").contains("Quiet\(Self.run)") })
        // Once the slow bucket is past the window (and keep-firing-for has passed), it resolves. (A 20-second
        // window sees a bucket for 10 to 20 seconds: long enough for a loaded machine to evaluate it.)
        let resolved = await eventually(timeout: .seconds(45)) {
            webhook.requests.contains {
                ($0["body"] ?? "").contains("\"status\":\"resolved\"") && ($0["body"] ?? "").contains("Slow\(Self.run)")
            }
        }
        #expect(resolved)
        let firings = webhook.requests.filter {
            ($0["body"] ?? "").contains("\"status\":\"firing\"") && ($0["body"] ?? "").contains("Slow\(Self.run)")
        }
        #expect(firings.count == 1, "one firing notification, no flapping or repeats")
        try await service.terminate()
    }

    @Test("A receiver that never answers: five attempts, the failure recorded")
    func failingReceiver() async throws {
        let route = "/api/unheard-\(Self.run)"
        let rulesPath = FileManager.default.temporaryDirectory.appendingPathComponent("alerts-fail-\(Self.run).yaml")
            .path
        try "rules: [{name: Unheard\(Self.run), metric: p99, route: \(route), condition: '> 1', window: 20s, for: 0s}]"
            .write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let service = try ServiceProcess(
            "wedsync-metrics",
            environment: [
                "WEDSYNC_METRICS_DATABASE": MetricsServiceTests.databasePath(),
                "WEDSYNC_METRICS_ALERTS_FILE": rulesPath,
                "WEDSYNC_METRICS_ALERTS_WEBHOOK_URL": "http://127.0.0.1:9/nobody",
                "WEDSYNC_METRICS_ALERTS_EVALUATION_MS": "200",
                "WEDSYNC_METRICS_ALERTS_RETRY_MS": "50", "WEDSYNC_LOG_LEVEL": "error",
            ]
        )
        try await service.waitUntil("/ready")
        #expect(
            try await MetricsServiceTests.post(service, MetricsServiceTests.batch(route: route, durations: [50, 60]))
                .status == 200
        )
        let recorded = await eventually(timeout: .seconds(15)) {
            let records =
                (try? await HTTP.get(service.baseURL + "/v1/notifications", headers: TestCredentials.asMonitor)).flatMap
            { try? WedSyncJSON.makeDecoder().decode([NotificationRecord].self, from: $0.data) } ?? []
            return records.contains {
                $0.alertName == "Unheard\(Self.run)" && $0.attempts == 5 && !$0.delivered && $0.lastError != nil
            }
        }
        #expect(recorded)
        let text = try await HTTP.get(service.baseURL + "/v1/notifications", headers: TestCredentials.asMonitor).text
        #expect(!text.contains("127.0.0.1:9"), "the receiver's URL is a secret")
        try await service.terminate()
    }

    @Test("Routing by severity: a critical alert is mailed over SMTP (after a refusal, retried), a warning is not")
    func email() async throws {
        let smtp = try await SMTPReceiver(failFirst: 1)
        let critical = "/api/mail-critical-\(Self.run)"
        let warning = "/api/mail-warning-\(Self.run)"
        let later = "/api/mail-later-\(Self.run)"
        // A minute's window: a loaded machine may take seconds between posting and evaluating.
        let rulesPath = FileManager.default.temporaryDirectory.appendingPathComponent("alerts-mail-\(Self.run).yaml")
            .path
        try """
        rules:
          - {name: Paged\(Self.run), metric: p99, route: \(critical), condition: '> 100', window: 1m, for: 0s, severity: critical,
             annotations: {summary: "Saturday is slow", runbook: "https://runbooks.example/latency"}}
          - {name: Noted\(Self.run), metric: p99, route: \(warning), condition: '> 100', window: 1m, for: 0s, severity: warning}
          - {name: Later\(Self.run), metric: p99, route: \(later), condition: '> 100', window: 1m, for: 0s, severity: critical}
        """.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let service = try ServiceProcess(
            "wedsync-metrics",
            environment: [
                "WEDSYNC_METRICS_DATABASE": MetricsServiceTests.databasePath(),
                "WEDSYNC_METRICS_ALERTS_FILE": rulesPath,
                "WEDSYNC_METRICS_ALERTS_SMTP_URL": smtp.url,
                "WEDSYNC_METRICS_ALERTS_EMAIL_TO": "oncall@wedsync.test, ops@wedsync.test",
                "WEDSYNC_METRICS_ALERTS_EMAIL_FROM": "alerts@wedsync.test",
                "WEDSYNC_METRICS_ALERTS_EVALUATION_MS": "200",
                "WEDSYNC_METRICS_ALERTS_RETRY_MS": "100", "WEDSYNC_LOG_LEVEL": "error",
            ]
        )
        try await service.waitUntil("/ready")
        for route in [critical, warning] {
            #expect(
                try await MetricsServiceTests.post(
                    service,
                    MetricsServiceTests.batch(route: route, durations: Array(repeating: 300, count: 20))
                ).status == 200
            )
        }
        let mailed = await eventually(timeout: .seconds(30)) { !smtp.messages.isEmpty }
        #expect(mailed)
        let message = try #require(smtp.messages.first)
        #expect(message.from == "alerts@wedsync.test")
        #expect(Set(message.to) == ["oncall@wedsync.test", "ops@wedsync.test"])
        #expect(message.data.contains("Subject: [FIRING:1] Paged\(Self.run) (critical)"))
        #expect(message.data.contains("route=\(critical)"))
        #expect(message.data.contains("summary: Saturday is slow"))
        #expect(message.data.contains("Content-Type: text/plain; charset=utf-8"))
        // The record is updated once libcurl returns, a moment after the server kept the message.
        func emailRecord() async throws -> NotificationRecord? {
            let records = try WedSyncJSON.makeDecoder().decode(
                [NotificationRecord].self,
                from: try await HTTP.get(service.baseURL + "/v1/notifications", headers: TestCredentials.asMonitor).data
            )
            return records.first { $0.channel == "email" && $0.alertName == "Paged\(Self.run)" }
        }
        _ = await eventually(timeout: .seconds(10)) { (try? await emailRecord())??.delivered == true }
        let record = try #require(try await emailRecord())
        #expect(record.delivered && record.attempts == 2, "the 451 was retried: \(record)")
        // The warning fires too (perhaps an evaluation later), but email takes critical alerts only.
        let warned = await eventually(timeout: .seconds(30)) {
            let alerts = try? WedSyncJSON.makeDecoder().decode(
                [Alert].self,
                from: try await HTTP.get(service.baseURL + "/v1/alerts", headers: TestCredentials.asMonitor).data
            )
            return alerts?.contains { $0.name == "Noted\(Self.run)" && $0.state == .firing } == true
        }
        #expect(warned)
        // A critical alert that fires after the warning did: once its mail arrives, anything routed for the warning
        // was queued before it, on the same in-order queue.
        #expect(
            try await MetricsServiceTests.post(
                service,
                MetricsServiceTests.batch(route: later, durations: Array(repeating: 300, count: 20))
            ).status == 200
        )
        let laterMailed = await eventually(timeout: .seconds(30)) {
            smtp.messages.contains { $0.data.contains("Later\(Self.run)") }
        }
        #expect(laterMailed)
        #expect(!smtp.messages.contains { $0.data.contains("Noted\(Self.run)") })
        let records = try WedSyncJSON.makeDecoder().decode(
            [NotificationRecord].self,
            from: try await HTTP.get(service.baseURL + "/v1/notifications", headers: TestCredentials.asMonitor).data
        )
        #expect(records.contains { $0.channel == "email" && $0.alertName == "Later\(Self.run)" })
        #expect(!records.contains { $0.channel == "email" && $0.alertName == "Noted\(Self.run)" })
        try await service.terminate()
    }
}
