import Foundation
import Logging
import NIOHTTP1
import ServiceLifecycle
import Testing
import WedSyncAPI
import WedSyncModels
import WedSyncPostgres
import WedSyncServiceKit
import WedSyncTestSupport

/// The API reading from a real streaming replica of the fixture's database: a supplier who edits a client sees the
/// edit on the next request even while the replica is behind, and every read that may, goes to the replica.
@Suite("API on a replica: read-your-writes", .timeLimit(.minutes(3)))
struct ReadYourWritesTests {
    @Test("After a PATCH, the writer's organization reads the primary until the replica has replayed the write")
    func patchThenGet() async throws {
        let api = try await APIFixture.shared()
        let replicaServer = try TestEnvironment.replicaURL()
        let replicaURL = replicaServer.replacingOccurrences(of: "/wedsync", with: "/\(api.databaseName)")
        let primaryURL = try TestEnvironment.databaseURL().replacingOccurrences(
            of: "/wedsync",
            with: "/\(api.databaseName)"
        )
        let port = try freePort()
        let configuration = try await ServiceConfiguration.load(
            service: "wedsync-api",
            defaultPort: port,
            arguments: ["wedsync-api"],
            environment: [
                "WEDSYNC_ADMIN_TOKEN": APIFixture.adminToken,
                "WEDSYNC_SERVICE_CALLERS": TestCredentials.callers,
                "WEDSYNC_DATABASE_URL": primaryURL,
                "WEDSYNC_DATABASE_REPLICA_URLS": replicaURL,
                "WEDSYNC_DATABASE_REPLICA_CHECK_INTERVAL_MS": "100",
                "WEDSYNC_DATABASE_REPLICA_MAX_LAG_MS": "60000",
                "WEDSYNC_API_MIGRATE_ON_START": "false",
                "WEDSYNC_CACHE_URL": api.receiver.base,
                "WEDSYNC_METRICS_URL": api.receiver.base,
                "WEDSYNC_OPTIMIZER_URL": api.receiver.base,
                "WEDSYNC_LOG_LEVEL": "warning",
            ]
        )
        let service = ServiceBuilder(configuration: configuration, summary: "test")
        _ = try await APIApplication.configure(service)
        let group = ServiceGroup(
            configuration: .init(services: [service.buildApplication()], logger: Logger(label: "ryw-test"))
        )
        let running = Task { try await group.run() }
        defer {
            Task {
                await group.triggerGracefulShutdown()
                _ = try? await running.value
            }
        }
        let base = "http://127.0.0.1:\(port)"
        // Clients no other test writes (they take the first and the last of the organization).
        let client = try await api.scalar(
            Int.self,
            "SELECT id FROM clients WHERE organization_id = 1 AND deleted_at IS NULL ORDER BY id DESC OFFSET 11 LIMIT 1"
        )
        let control = try await api.scalar(
            Int.self,
            "SELECT id FROM clients WHERE organization_id = 1 AND deleted_at IS NULL ORDER BY id DESC OFFSET 12 LIMIT 1"
        )
        let note = "read-your-writes \(UUID().uuidString.prefix(8))"
        let replica = try PostgresPool(
            name: "replica-direct",
            configuration: PostgresConfiguration(url: replicaURL),
            logger: Logger(label: "ryw-test")
        )
        defer { Task { await replica.shutdown() } }

        try await ReplicaControl.exclusively {
            // The API puts the replica in its rotation once it has checked it (its /metrics says so).
            let inRotation = try await eventually(timeout: .seconds(30)) {
                let metrics = try await HTTP.get(
                    "\(base)/metrics",
                    headers: [("Authorization", "Bearer \(APIFixture.adminToken)")]
                )
                return metrics.text.contains(#"wedsync_postgres_replica_in_rotation{pool="replica-1"} 1"#)
            }
            #expect(inRotation, "the API never put the replica in its rotation")

            try await ReplicaControl.withReplayPaused {
                // The control: a write the API did not make (straight to the primary, so no fence) is not seen
                // through the API while the replica is behind: the API reads the replica.
                try await api.database.execute("UPDATE clients SET notes = \(note) WHERE id = \(control)")
                // Asked until a read shows the replica's old row: on a loaded machine one of the API's replica
                // checks can outlast its timeout, and reads go to the primary until the next one.
                let unseen = try await eventually(timeout: .seconds(20)) {
                    let answer = try await HTTP.get(
                        "\(base)/api/clients/\(control)",
                        headers: [("Authorization", "Bearer \(api.tokenOne)")]
                    )
                    return answer.status == 200 && !answer.text.contains(note)
                }
                #expect(unseen, "the API never read the replica before the PATCH")

                let patch = try await HTTP.send(
                    .PATCH,
                    "\(base)/api/clients/\(client)",
                    headers: [("Authorization", "Bearer \(api.tokenOne)"), ("Content-Type", "application/json")],
                    body: #"{"notes":"\#(note)"}"#
                )
                #expect(patch.status == 200, "\(patch.text)")
                let read = try await HTTP.get(
                    "\(base)/api/clients/\(client)",
                    headers: [("Authorization", "Bearer \(api.tokenOne)")]
                )
                #expect(read.status == 200)
                #expect(read.text.contains(note), "the next read after the writer's PATCH did not show it")
                // The replica itself is behind the write: the read above was not its answer.
                let stale = try await replica.query("SELECT coalesce(notes, '') FROM clients WHERE id = \(client)")
                #expect(try stale[0].decode(String.self, at: 0) != note, "the replica was not behind after all")
            }
        }
    }
}
