import Foundation
import Logging
import Testing
import WedSyncAPI
import WedSyncServiceKit
import WedSyncTestSupport

@Suite("The invalidation outbox's relay loop", .timeLimit(.minutes(2)))
struct InvalidationOutboxTests {
    @Test("With nothing to send, the relay reads the outbox about once a second, not in a loop")
    func idlePolling() async throws {
        let api = try await APIFixture.shared()
        let outbox = InvalidationOutbox(
            pool: api.database,
            client: ServiceClient(name: "wedsync-cache", baseURL: api.receiver.base, token: nil, timeout: .seconds(5)),
            logger: Logger(label: "outbox-test")
        )
        let relay = Task { try await outbox.run() }
        defer { relay.cancel() }
        let started = ContinuousClock.now
        let fourRounds = await eventually(timeout: .seconds(30)) { outbox.rounds >= 4 }
        let elapsed = ContinuousClock.now - started
        #expect(fourRounds)
        // The first round at once, then one a poll interval (1 s): four rounds take three intervals at least. A
        // relay that spins gets there in milliseconds.
        #expect(elapsed >= .milliseconds(2_500), "four relay rounds in \(elapsed)")
    }
}
