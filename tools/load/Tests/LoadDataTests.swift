import Foundation
import Testing
import WedSyncLoad

@Suite("Load tester: per-user data and source addresses")
struct LoadDataTests {
    /// Three suppliers whose ids do not overlap, so any request shows whose row it was filled from.
    static let data = """
        [
          {"token": "wsk_zero", "client": [100, 101, 102], "day": "2026-06-13"},
          {"token": "wsk_one", "client": [200, 201], "day": "2026-06-20"},
          {"token": "wsk_two", "client": 300, "day": "2026-06-27"}
        ]
        """

    static let templates = [
        RequestTemplate(
            name: "client",
            target: "/api/clients/{{client}}?day={{day}}",
            headers: [.init("Authorization", "Bearer {{token}}")],
            weight: 3,
            route: "/api/clients/{id}"
        ),
        RequestTemplate(
            name: "note",
            method: "PATCH",
            target: "/api/clients/{{client}}",
            headers: [.init("Authorization", "Bearer {{token}}")],
            body: #"{"notes":"from {{token}}"}"#
        ),
    ]

    /// The row of `data` a request was filled from, by its token; `nil` when its parts disagree.
    static func row(of request: RecordingServer.Received) -> Int? {
        let tokens = ["wsk_zero", "wsk_one", "wsk_two"]
        guard let token = request.authorization?.replacingOccurrences(of: "Bearer ", with: ""),
            let row = tokens.firstIndex(of: token)
        else { return nil }
        let clients = [[100, 101, 102], [200, 201], [300]][row]
        let path = request.uri.split(separator: "?")[0]
        guard let id = Int(path.split(separator: "/").last ?? ""), clients.contains(id) else { return nil }
        if request.method == "GET", !request.uri.hasSuffix("day=\(["2026-06-13", "2026-06-20", "2026-06-27"][row])") {
            return nil
        }
        if request.method == "PATCH", request.body != #"{"notes":"from \#(token)"}"# { return nil }
        return row
    }

    @Test("Closed model: each user is one row (token and ids together) and sends from an address of its own")
    func closedUsers() async throws {
        let server = try await RecordingServer.start()
        let target = LoadTarget(host: "127.0.0.1", port: server.port)
        let sources = try #require(LoadRunner.loopbackSources(3, for: target))
        // Each user sends 30 requests and stops: the run ends on that, not on the clock (the duration is a bound a
        // busy machine never reaches).
        var runner = LoadRunner(
            target: target,
            mix: RequestMix(Self.templates),
            model: .closed(
                users: 3,
                thinkTime: ThinkTime(minimum: .milliseconds(1), maximum: .milliseconds(2)),
                duration: .seconds(600)
            ),
            data: try LoadData(json: Data(Self.data.utf8)),
            sourceAddresses: sources
        )
        runner.iterationsPerUser = 30
        let recorder = LatencyRecorder(endpoints: Self.templates.map(\.name))
        _ = await runner.run(recorder: recorder)
        await server.stop()
        let received = server.received
        #expect(received.count == 90 && recorder.overall.requests == 90)
        // Every request is one row's, whole; each address sent one row's requests only; three addresses, three rows.
        var rowsByPeer: [String: Set<Int>] = [:]
        for request in received {
            let row = Self.row(of: request)
            #expect(row != nil, "\(request)")
            if let row { rowsByPeer[request.peer, default: []].insert(row) }
        }
        #expect(Set(rowsByPeer.keys) == ["127.0.1.1", "127.0.1.2", "127.0.1.3"])
        #expect(rowsByPeer.values.allSatisfy { $0.count == 1 })
        #expect(Set(rowsByPeer.values.flatMap { $0 }) == [0, 1, 2])
        // A list's values are drawn per request: the first supplier's three clients all came up.
        let firstClients = Set(received.filter { Self.row(of: $0) == 0 }.map { $0.uri.split(separator: "?")[0] })
        #expect(firstClients.count == 3, "\(firstClients)")
    }

    @Test("Open model: each request draws a row, filled in whole")
    func openRequests() async throws {
        let server = try await RecordingServer.start()
        let target = LoadTarget(host: "127.0.0.1", port: server.port)
        let runner = LoadRunner(
            target: target,
            mix: RequestMix(Self.templates),
            model: .open(stages: RateStage.constant(300, for: .seconds(1))),
            connections: 4,
            // However busy the machine, every due request is sent: the run ends when the last is answered.
            drainTimeout: .seconds(600),
            data: try LoadData(json: Data(Self.data.utf8))
        )
        let recorder = LatencyRecorder(endpoints: Self.templates.map(\.name))
        _ = await runner.run(recorder: recorder)
        await server.stop()
        let rows = server.received.map(Self.row(of:))
        #expect(rows.count == 300)
        #expect(rows.allSatisfy { $0 != nil })
        #expect(Set(rows.compactMap { $0 }) == [0, 1, 2])
    }

    @Test(
        "Bad data, and a request naming a field the data lacks, are refused with where",
        arguments: [
            ("{}", "not a JSON array"),
            ("[]", "no rows"),
            (#"[{"token": true}]"#, "[0].token"),
            (#"[{"client": []}]"#, "[0].client"),
            (#"[{"token": "a", "client": [1, {"x": 1}]}]"#, "[0].client"),
        ] as [(String, String)]
    )
    func badData(_ json: String, _ fragment: String) {
        do {
            _ = try LoadData(json: Data(json.utf8))
            Issue.record("\(json) was accepted")
        } catch {
            #expect(error.message.contains(fragment), "\(error)")
        }
    }

    @Test("A request naming a field some row lacks is refused, naming the request, the field and the row")
    func missingField() throws {
        let data = try LoadData(json: Data(#"[{"token": "a", "client": 1}, {"token": "b"}]"#.utf8))
        do {
            try data.check(Self.templates)
            Issue.record("accepted")
        } catch {
            #expect(error.message.contains("requests[0] (client)"), "\(error)")
            #expect(error.message.contains("{{client}}") || error.message.contains("{{day}}"), "\(error)")
        }
        #expect(Self.templates[0].dataFields == ["client", "day", "token"])
        #expect(Self.templates[0].routeTemplate == "/api/clients/{id}")
        #expect(Self.templates[1].routeTemplate == "/api/clients/{{client}}")
    }

    @Test("Source addresses are only for a target on loopback")
    func sources() {
        #expect(LoadRunner.loopbackSources(300, for: LoadTarget(host: "127.0.0.1", port: 1))?.count == 300)
        #expect(LoadRunner.loopbackSources(2, for: LoadTarget(host: "10.0.0.5", port: 1)) == nil)
    }
}
