import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WedSyncAPI
import WedSyncModels
import WedSyncPostgres
import WedSyncTestSupport

/// Streaming exports: every format, content negotiation, and the query cancelled when the client disconnects.
@Suite("WedSync API exports", .serialized, .timeLimit(.minutes(3)))
struct APIExportTests {
    @Test(
        "Guests as CSV and NDJSON, budget items as a JSON array and SSE: every row of the organization, once, in each format"
    )
    func formats() async throws {
        let api = try await APIFixture.shared()
        let expected = try await api.scalar(Int.self, "SELECT count(*) FROM guests WHERE organization_id = 2")
        #expect(expected > 1_000)

        let csv = try await api.get("/api/exports/guests?format=csv", token: api.tokenTwo)
        #expect(csv.status == 200)
        #expect(csv.headers.first(name: "content-type")?.hasPrefix("text/csv") == true)
        let lines = csv.text.split(separator: "\r\n")
        #expect(
            lines.first
                == "id,guestListId,clientId,firstName,lastName,email,rsvpStatus,dietaryRequirements,tableNumber,plusOne"
        )
        #expect(lines.count == expected + 1)

        let ndjson = try await api.get(
            "/api/exports/guests",
            token: api.tokenTwo,
            headers: [("Accept", "application/x-ndjson")]
        )
        #expect(ndjson.headers.first(name: "content-type") == "application/x-ndjson")
        let objects = try ndjson.text.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(objects.count == expected)
        #expect(Set(objects.map { $0["id"] as! Int }).count == expected)
        #expect(objects.allSatisfy { $0["plusOne"] is Bool && $0["firstName"] is String })

        // The other formats on a smaller table (debug builds parse slowly).
        let items = try await api.scalar(Int.self, "SELECT count(*) FROM budget_items WHERE organization_id = 2")
        #expect(items > 10_000)
        let json = try await api.get("/api/exports/budget-items?format=json", token: api.tokenTwo)
        let array = try JSONSerialization.jsonObject(with: json.data) as! [[String: Any]]
        #expect(array.count == items)
        #expect(array.allSatisfy { $0["paid"] is Bool && $0["estimatedAmount"] is NSNumber })

        let sse = try await api.get(
            "/api/exports/budget-items",
            token: api.tokenTwo,
            headers: [("Accept", "text/event-stream")]
        )
        #expect(sse.headers.first(name: "content-type") == "text/event-stream")
        let events = sse.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(events.filter { $0.hasPrefix("event: row\n") }.count == items)
        let progress = events.filter { $0.hasPrefix("event: progress\n") }
        #expect(progress.count == 1 + items / 10_000)
        #expect(progress.first?.contains("\"total\":\(items)") == true)
        #expect(events.last == "event: done\ndata: {\"rows\":\(items)}")
    }

    @Test("Clients export too, scoped to the caller")
    func otherKinds() async throws {
        let api = try await APIFixture.shared()
        let clients = try await api.get("/api/exports/clients?format=csv", token: api.tokenTwo)
        let expectedClients = try await api.scalar(
            Int.self,
            "SELECT count(*) FROM clients WHERE organization_id = 2 AND deleted_at IS NULL"
        )
        #expect(clients.text.split(separator: "\r\n").count == expectedClients + 1)
    }

    /// The export's statement, if a backend is still running it or holding its cursor open.
    static func exportBackends(_ api: APIFixture) async throws -> Int {
        try await api.scalar(
            Int.self,
            """
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = \(api.databaseName) AND state <> 'idle' AND pid <> pg_backend_pid()
              AND (query LIKE '%wedsync_cursor%')
            """
        )
    }

    @Test("A client that disconnects mid-export: its query is then gone from pg_stat_activity (how soon is printed)")
    func disconnectCancelsTheQuery() async throws {
        let api = try await APIFixture.shared()
        let guests = try await api.scalar(Int.self, "SELECT count(*) FROM guests WHERE organization_id = 1")
        #expect(guests > 50_000, "the export must outgrow the socket buffers for this test to mean anything")

        // A raw socket with a small receive buffer that reads one chunk and then stops reading.
        let port = Int(api.base.split(separator: ":").last!)!
        let socket = try RawHTTPConnection(port: port, receiveBuffer: 8 * 1024)
        try socket.send(
            "GET /api/exports/guests?format=sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(api.tokenOne)\r\n\r\n"
        )
        let head = try socket.receive(atLeast: 1024)
        #expect(head.hasPrefix("HTTP/1.1 200"))

        // The export is under way: its cursor is open on the server.
        #expect(await eventually(timeout: .seconds(15)) { (try? await Self.exportBackends(api)) == 1 })
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await Self.exportBackends(api) == 1, "still running while the client holds the connection")

        socket.close()
        let closed = ContinuousClock.now
        // That it goes is asserted, not how fast (printed: a loaded machine can stall either side for seconds); a
        // query the disconnect leaves running still fails.
        let gone = await eventually(timeout: .seconds(15)) { (try? await Self.exportBackends(api)) == 0 }
        #expect(gone, "the export query outlived the client by more than 15 s")
        print("export query gone \(ContinuousClock.now - closed) after the client disconnected")

        // The API goes on serving.
        #expect(try await api.get("/api/auth/introspect", token: api.tokenOne).status == 200)
    }
}
