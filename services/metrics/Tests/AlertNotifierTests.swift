import Foundation
import Logging
import ServiceLifecycle
import Testing
import WedSyncMetrics
import WedSyncModels
import WedSyncTestSupport

@Suite("Alert notifier: a delivery queue per receiver, flushed at shutdown")
struct AlertNotifierTests {
    @Test(
        "A notification waiting out its backoff when the service stops gets its last attempt before the notifier returns"
    )
    func flushedAtShutdown() async throws {
        let receiver = try await HTTPReceiver(failFirstPosts: 1)
        let notifier = AlertNotifier(
            receivers: [AlertReceiver(name: "webhook", destination: .webhook(url: receiver.baseURL + "/hook"))],
            externalURL: "http://metrics.test",
            initialBackoff: .seconds(60),
            logger: Logger(label: "test")
        )
        let group = ServiceGroup(configuration: .init(services: [notifier], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        let alert = Alert(
            name: "RouteLatencyHigh",
            state: .firing,
            severity: .critical,
            labels: ["route": "/api/clients"],
            value: 250,
            startsAt: Date()
        )
        let id = try #require(
            notifier.notify(rule: "RouteLatencyHigh", status: "firing", severity: .critical, alerts: [alert]).first
        )
        // The first attempt is refused (503): the notification now waits a minute for its next one.
        #expect(await eventually { notifier.notifications.first { $0.id == id }?.attempts == 1 })
        await group.triggerGracefulShutdown()
        try await running.value
        // Delivered by the flush at shutdown, not by a retry after the backoff (the group would still be waiting).
        let record = try #require(notifier.notifications.first { $0.id == id })
        #expect(record.delivered && record.attempts == 2, "\(record)")
        #expect(receiver.requests.filter { $0["method"] == "POST" }.count == 2)
    }
}
