import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Testing
import WedSyncAPI
import WedSyncCompression
import WedSyncModels
import WedSyncPostgres
import WedSyncTestSupport

/// The wedding-day screen through the real gateway in front of the real API: the bytes it travels in, and its
/// purge when any of its parts changes.
extension StackTests {
    /// Organization 1's busiest day, with a guest, a wedding and a run-sheet entry of it.
    static func screenDay(_ stack: StackFixture) async throws -> (
        date: String, guest: Int, attending: Bool, client: Int, event: Int
    ) {
        let pool = PostgresPool(
            name: "screen",
            configuration: try PostgresConfiguration(url: stack.databaseURL),
            logger: Logger(label: "test")
        )
        let date = try await pool.query(
            """
            SELECT schedule_date::text FROM supplier_schedules WHERE organization_id = 1
            GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1
            """
        )[0].decode(String.self, at: 0)
        let row = try await pool.query(
            """
            SELECT g.id, g.client_id, t.id, g.rsvp_status = 'attending'
            FROM supplier_schedules s
            JOIN guests g ON g.client_id = s.client_id
            JOIN timeline_events t ON t.schedule_id = s.id
            WHERE s.organization_id = 1 AND s.schedule_date = \(date)::date
            ORDER BY g.id, t.id LIMIT 1
            """
        )[0]
        await pool.shutdown()
        return (
            date, try row.decode(Int.self, at: 0), try row.decode(Bool.self, at: 3), try row.decode(Int.self, at: 1),
            try row.decode(Int.self, at: 2)
        )
    }

    static func screenLoad(_ stack: StackFixture, _ page: String, accept: String, token: String) async throws
        -> HTTP.Answer
    {
        try await HTTP.send(
            .GET,
            stack.gateway.baseURL + page,
            headers: [("Authorization", "Bearer \(token)"), ("Accept-Encoding", accept)],
            client: HTTP.raw
        )
    }

    @Test(
        "The wedding-day screen travels small: brotli at most 0.85 × gzip's best, at most 20% of its size (printed), once the gateway has recoded it"
    )
    func screenBytes() async throws {
        let stack = try await StackFixture.shared.value
        let token = stack.tenantA
        let day = try await Self.screenDay(stack)
        var rows: [String] = []
        for page in [
            "/api/screens/wedding-day?date=\(day.date)", "/api/timeline?date=\(day.date)",
            "/api/supplier-schedules?date=\(day.date)", "/api/guest-summary?date=\(day.date)",
        ] {
            let identity = try await Self.screenLoad(stack, page, accept: "identity", token: token)
            #expect(identity.status == 200, "\(page): \(identity.text)")
            let size = identity.body.readableBytes
            let gzipBest = try #require(Gzip.compress(identity.body, level: Gzip.bestLevel)).readableBytes
            // The recode runs after the first store: the stored brotli shrinks to its best once it has.
            var brotli = try await Self.screenLoad(stack, page, accept: "gzip, deflate, br", token: token)
            let best = try #require(Brotli.compress(identity.body, quality: Brotli.bestQuality)).readableBytes
            let recoded = await eventually(timeout: .seconds(30)) {
                guard let answer = try? await Self.screenLoad(stack, page, accept: "gzip, deflate, br", token: token)
                else { return false }
                brotli = answer
                return answer.body.readableBytes == best
            }
            #expect(recoded, "\(page): brotli \(brotli.body.readableBytes) bytes, never its best \(best)")
            #expect(brotli.headers.first(name: "content-encoding") == "br")
            #expect(brotli.headers.first(name: "x-cache") == "HIT")
            #expect(String(buffer: try Brotli.decompress(brotli.body, maximumSize: 1 << 24)) == identity.text)
            let gzip = try await Self.screenLoad(stack, page, accept: "gzip", token: token)
            #expect(gzip.headers.first(name: "content-encoding") == "gzip")
            #expect(gzip.body.readableBytes == gzipBest, "\(page): gzip recoded at its best level")
            let ratio = Double(brotli.body.readableBytes) / Double(gzipBest)
            if size > 4096 { #expect(ratio <= 0.85, "\(page): brotli \(ratio) × gzip") }
            if size > 20_000 {
                #expect(Double(brotli.body.readableBytes) <= 0.20 * Double(size), "\(page) travels at ≤ 20%")
            }
            rows.append(
                "\(page): \(size) B, gzip-9 \(gzipBest) B, br-11 \(brotli.body.readableBytes) B (\(String(format: "%.2f", ratio)) × gzip, \(String(format: "%.1f", 100 * Double(brotli.body.readableBytes) / Double(size)))%)"
            )
        }
        let screen = try await Self.screenLoad(
            stack,
            "/api/screens/wedding-day?date=\(day.date)",
            accept: "identity",
            token: token
        )
        #expect(screen.body.readableBytes > 20_000, "the busiest day's screen is one of the large ones")
        for row in rows { print("screen bytes: \(row)") }
    }

    @Test(
        "The screen through the gateway is purged when any of its parts changes: a guest, a wedding, a run-sheet entry"
    )
    func screenPurgedByEachPart() async throws {
        let stack = try await StackFixture.shared.value
        let token = stack.tenantA
        let day = try await Self.screenDay(stack)
        let page = "/api/screens/wedding-day?date=\(day.date)"
        let changes: [(String, String, String)] = [
            // Each change shows in the screen: the RSVPs counted, the venue, the entry's title.
            ("a guest", "/api/guests/\(day.guest)", #"{"rsvpStatus":"\#(day.attending ? "declined" : "attending")"}"#),
            (
                "a wedding", "/api/clients/\(day.client)",
                #"{"venueName":"Screen Hall \#(UUID().uuidString.prefix(6))"}"#
            ),
            (
                "a run-sheet entry", "/api/timeline-events/\(day.event)",
                #"{"title":"Toasts \#(UUID().uuidString.prefix(4))"}"#
            ),
        ]
        for (part, path, body) in changes {
            try await StackTests.cached(stack, page, token: token)
            let before = try await Self.screenLoad(stack, page, accept: "br", token: token)
            #expect(before.headers.first(name: "x-cache") == "HIT")
            let written = try await HTTP.send(
                .PATCH,
                stack.api.baseURL + path,
                headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
                body: body
            )
            #expect(written.status == 200, "\(part): \(written.text)")
            let purged = await eventually(timeout: .seconds(30)) {
                (try? await StackTests.held(stack, page, token: token)) == false
            }
            #expect(purged, "the screen outlived a change to \(part)")
            let after = try await Self.screenLoad(stack, page, accept: "br", token: token)
            #expect(after.status == 200)
            #expect(after.headers.first(name: "etag") != before.headers.first(name: "etag"), "\(part): a new body")
        }
    }

    @Test(
        "Save-Data: the gateway keeps the compact and the full screen apart, answers each from the cache, and one change purges both (sizes printed)"
    )
    func screenSaveData() async throws {
        let stack = try await StackFixture.shared.value
        let token = stack.tenantA
        let day = try await Self.screenDay(stack)
        let page = "/api/screens/wedding-day?date=\(day.date)"
        func load(_ saveData: Bool) async throws -> HTTP.Answer {
            try await HTTP.send(
                .GET,
                stack.gateway.baseURL + page,
                headers: [("Authorization", "Bearer \(token)"), ("Accept-Encoding", "br")]
                    + (saveData ? [("Save-Data", "on")] : []),
                client: HTTP.raw
            )
        }
        func held(_ saveData: Bool) async -> Bool {
            let answer = try? await HTTP.get(
                stack.gateway.baseURL + page,
                headers: [("Authorization", "Bearer \(token)"), ("Cache-Control", "only-if-cached")]
                    + (saveData ? [("Save-Data", "on")] : [])
            )
            return answer?.status == 200
        }
        // The stack's Redis outlives a test run: a change first purges what an earlier run's gateway stored.
        func change() async throws {
            let written = try await HTTP.send(
                .PATCH,
                stack.api.baseURL + "/api/guests/\(day.guest)",
                headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
                body: #"{"tableNumber":\#(Int.random(in: 1...400))}"#
            )
            #expect(written.status == 200, "\(written.text)")
        }
        try await change()
        for saveData in [false, true] {
            #expect(await eventually(timeout: .seconds(30)) { await !held(saveData) }, "purged, Save-Data \(saveData)")
        }
        for saveData in [false, true] {
            _ = try await load(saveData)
            #expect(await eventually(timeout: .seconds(30)) { await held(saveData) }, "stored, Save-Data \(saveData)")
        }
        let full = try await load(false)
        let compact = try await load(true)
        #expect(full.headers.first(name: "x-cache") == "HIT" && compact.headers.first(name: "x-cache") == "HIT")
        let fullScreen = try WedSyncJSON.makeDecoder().decode(
            WeddingDayScreen.self,
            from: Data(try Brotli.decompress(full.body, maximumSize: 1 << 24).readableBytesView)
        )
        let compactScreen = try WedSyncJSON.makeDecoder().decode(
            WeddingDayScreen.self,
            from: Data(try Brotli.decompress(compact.body, maximumSize: 1 << 24).readableBytesView)
        )
        #expect(fullScreen.compact == nil && compactScreen == fullScreen.compacted())
        // Sizes at the same levels (what is served depends on whether the recode has run yet).
        let encoder = WedSyncJSON.makeEncoder()
        let fullJSON = ByteBuffer(bytes: try encoder.encode(fullScreen))
        let compactJSON = ByteBuffer(bytes: try encoder.encode(compactScreen))
        #expect(compactJSON.readableBytes < fullJSON.readableBytes)
        let sizes = [fullJSON, compactJSON].map { json in
            (
                Brotli.compress(json, quality: Brotli.fastQuality)?.readableBytes ?? 0,
                Brotli.compress(json)?.readableBytes ?? 0
            )
        }
        print(
            "screen bytes: Save-Data compact form \(compactJSON.readableBytes) B, brotli-5 \(sizes[1].0) B, brotli-11 \(sizes[1].1) B; the full form \(fullJSON.readableBytes) B, \(sizes[0].0) B, \(sizes[0].1) B"
        )

        try await change()
        for saveData in [false, true] {
            #expect(await eventually(timeout: .seconds(30)) { await !held(saveData) }, "purged, Save-Data \(saveData)")
        }
    }
}
