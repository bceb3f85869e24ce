import Foundation
import Logging
import NIOHTTP1
import Testing
import WedSyncModels
import WedSyncPostgres

/// `POST /v1/analyze` on a real PostgreSQL 15 with hypopg, on a schema made without the right indexes
/// (``QueryOptimizerFixture``): a million clients, half of them with a guest list, and their payments.
@Suite("Query optimizer: plan analysis and proven index recommendations", .serialized, .timeLimit(.minutes(5)))
struct QueryOptimizerAnalyzeTests {
    static let clientsQuery = """
        SELECT c.*, g.guest_count FROM clients c LEFT JOIN guest_lists g ON c.id = g.client_id
        WHERE c.organization_id = $1 AND c.wedding_date BETWEEN $2 AND $3
        """

    static var fixture: Task<QueryOptimizerFixture, any Error> { QueryOptimizerFixture.shared }

    static func analyze(_ body: String, admin: Bool = true) async throws -> HTTP.Answer {
        let fixture = try await Self.fixture.value
        return try await HTTP.send(
            .POST, fixture.service.baseURL + "/v1/analyze", headers: (admin ? GatewayProcess.admin : []) + [("Content-Type", "application/json")], body: body
        )
    }

    static func request(_ sql: String, _ params: String = "[]", extra: String = "") -> String {
        let encoded = String(decoding: try! JSONEncoder().encode(sql), as: UTF8.self)
        return #"{"sql":\#(encoded),"params":\#(params)\#(extra)}"#
    }

    @Test("The clients query: a full scan and a recommended clients (organization_id, wedding_date); once created, used, no full scan, under 50 ms")
    func clientsQuery() async throws {
        let fixture = try await Self.fixture.value
        let params = #"[7, "2026-06-01", "2026-06-30"]"#
        let before = try await Self.analyze(Self.request(Self.clientsQuery, params))
        #expect(before.status == 200, "\(before.text)")
        let first = try WedSyncJSON.makeDecoder().decode(AnalyzeResponse.self, from: before.data)
        #expect(first.analyzed && first.fullTableScan)
        #expect(first.executionTimeMs != nil && first.planningTimeMs != nil)
        #expect(first.findings.contains { $0.kind == "seq_scan_selective" && $0.node.hasSuffix("on clients") }, "\(first.findings)")
        let recommendation = try #require(first.recommendations.first, "\(first)")
        #expect(recommendation.table == "clients")
        #expect(recommendation.columns == ["organization_id", "wedding_date"], "equality first, then the range")
        #expect(recommendation.costAfter <= recommendation.costBefore / 2)
        #expect(recommendation.estimatedSizeBytes > 1_000_000)
        #expect(recommendation.createStatement.hasPrefix("CREATE INDEX CONCURRENTLY"))
        #expect(recommendation.createStatement.contains("ON clients (organization_id, wedding_date)"))
        #expect(!first.recommendations.contains { $0.predicate != nil }, "a parameter's value is no reason for a partial index")

        try await fixture.pool.withConnection { connection in
            try await connection.simpleQuery(recommendation.createStatement)
            try await connection.simpleQuery("ANALYZE clients")
        }
        let after = try WedSyncJSON.makeDecoder().decode(AnalyzeResponse.self, from: try await Self.analyze(Self.request(Self.clientsQuery, params)).data)
        #expect(after.indexUsage)
        #expect(!after.fullTableScan, "\(after.plan)")
        #expect((after.executionTimeMs ?? .infinity) < 50, "\(after.executionTimeMs ?? -1) ms at 1,000,000 clients")
        #expect(!after.recommendations.contains { $0.table == "clients" && $0.columns.first == "organization_id" }, "already covered by the new index")
    }

    /// Each finding, on a real query built to show it.
    @Test("Every finding on a real query built to trigger it", arguments: [
        ("row_estimate_off", "SELECT * FROM clients WHERE organization_id = 8 AND id % 1000 = 7", "on clients"),
        ("sort_spill", "SELECT * FROM clients WHERE id <= 50000 ORDER BY name", "Sort"),
        ("hash_spill", "SELECT count(*) FROM clients c JOIN guest_lists g ON g.client_id + 0 = c.id WHERE c.id <= 200000", "Hash"),
        (
            "nested_loop_many_loops",
            "SELECT c.id, g.guest_count FROM clients c CROSS JOIN LATERAL (SELECT guest_count FROM guest_lists WHERE client_id = c.id LIMIT 1) g WHERE c.id <= 5000",
            "Nested Loop"
        ),
        ("missing_fk_index", "SELECT c.name, p.amount FROM clients c JOIN payments p ON p.client_id = c.id WHERE c.id <= 1000", "Hash Join"),
        ("index_only_scan_possible", "SELECT paid_on, amount FROM payments WHERE paid_on BETWEEN '2026-03-01' AND '2026-03-10'", "on payments"),
        ("seq_scan_selective", "SELECT * FROM payments WHERE amount = 517", "Seq Scan on payments"),
    ])
    func finding(kind: String, sql: String, node: String) async throws {
        let answer = try await Self.analyze(Self.request(sql, extra: #","recommend":false"#))
        #expect(answer.status == 200, "\(answer.text)")
        let response = try WedSyncJSON.makeDecoder().decode(AnalyzeResponse.self, from: answer.data)
        let found = response.findings.filter { $0.kind == kind }
        #expect(found.contains { $0.node.contains(node) }, "\(kind) on \(node): \(response.findings)")
        switch kind {
        case "missing_fk_index": #expect(found.contains { $0.message.contains("payments.client_id") })
        case "index_only_scan_possible": #expect(found.contains { $0.message.contains("ON payments (paid_on) INCLUDE (amount)") }, "\(found)")
        default: break
        }
    }

    @Test("Writes change nothing: refused without the token, explained and rolled back with it; a hidden write is refused too")
    func writes() async throws {
        let fixture = try await Self.fixture.value
        let delete = Self.request("DELETE FROM clients WHERE id = $1", "[42]")
        let refused = try await Self.analyze(delete)
        #expect(refused.status == 403 && refused.text.contains("write_refused"))
        let hidden = try await Self.analyze(Self.request("WITH gone AS (DELETE FROM clients WHERE id = 43 RETURNING id) SELECT * FROM gone"))
        #expect(hidden.status == 403)
        let noToken = try await Self.analyze(Self.request("SELECT 1"), admin: false)
        #expect(noToken.status == 401, "it runs queries on the database: admin only")
        #expect(try await Self.analyze(Self.request("SELECT 1; DELETE FROM clients WHERE id = 44")).status == 403)
        let stacked = try await Self.analyze(Self.request("SELECT 1; SELECT 2"))
        #expect(stacked.status == 400 && stacked.text.contains("invalid_sql"), "one statement at a time: \(stacked.text)")
        let explained = try await Self.analyze(Self.request("DELETE FROM payments WHERE id = $1", "[42]", extra: #","allowWrite":true"#), admin: true)
        #expect(explained.status == 200, "\(explained.text)")
        let plan = try WedSyncJSON.makeDecoder().decode(AnalyzeResponse.self, from: explained.data)
        #expect(plan.analyzed && plan.plan.nodeType == "ModifyTable")
        let still = try await fixture.pool.query("SELECT count(*)::bigint FROM clients WHERE id IN (42, 43, 44)")
        #expect(try still.first?.decode(Int64.self, at: 0) == 3, "nothing hidden or refused ran")
        let payment = try await fixture.pool.query("SELECT count(*)::bigint FROM payments WHERE id = 42")
        #expect(try payment.first?.decode(Int64.self, at: 0) == 1, "the DELETE ran only inside a transaction that was rolled back")
        // A function that writes, behind a SELECT: the transaction is read-only.
        try await fixture.pool.withConnection { try await $0.simpleQuery("CREATE SEQUENCE IF NOT EXISTS qo_probe") }
        let sneaky = try await Self.analyze(Self.request("SELECT nextval('qo_probe')"))
        #expect(sneaky.status == 403, "\(sneaky.text)")
    }

    @Test("A statement past the timeout is a 422; what outlives a rollback (advisory locks) is cleared before the connection is reused")
    func timeoutAndSessionState() async throws {
        let fixture = try await Self.fixture.value
        let slow = try await Self.analyze(Self.request("SELECT pg_sleep(5)"))
        #expect(slow.status == 422 && slow.text.contains("statement_timeout"), "\(slow.text)")
        // Lifting the timeout from inside the statement does not carry over to the next one.
        _ = try await Self.analyze(Self.request("SELECT 1 WHERE (SELECT set_config('statement_timeout', '0', false)) IS NOT NULL"))
        #expect(try await Self.analyze(Self.request("SELECT pg_sleep(5)")).status == 422)
        #expect(try await Self.analyze(Self.request("SELECT pg_advisory_lock(4242)")).status == 200)
        let free = try await fixture.pool.query("SELECT pg_try_advisory_lock(4242)")
        #expect(try free.first?.decode(Bool.self, at: 0) == true, "the lock the statement took was released")
        _ = try await fixture.pool.query("SELECT pg_advisory_unlock_all()")
    }

    @Test("Plain EXPLAIN on request, bad input as 4xx: not JSON, no SQL, a syntax error, a missing table")
    func badInput() async throws {
        let plain = try await Self.analyze(Self.request("SELECT count(*) FROM clients WHERE budget > $1", "[4000]", extra: #","analyze":false"#))
        #expect(plain.status == 200)
        let response = try WedSyncJSON.makeDecoder().decode(AnalyzeResponse.self, from: plain.data)
        #expect(!response.analyzed && response.executionTimeMs == nil && response.plan.actualRows == nil)
        for (body, status, code) in [
            ("not json", 400, "invalid_body"), (#"{"sql":""}"#, 400, "invalid_body"), (Self.request("SELEC 1"), 403, "write_refused"),
            (Self.request("SELECT * FROM clients WHERE"), 400, "invalid_sql"), (Self.request("SELECT * FROM no_such_table"), 400, "invalid_sql"),
            (Self.request("SELECT $1::int", #"[{"a":1}]"#), 400, "invalid_body"),
        ] {
            let answer = try await Self.analyze(body)
            #expect(answer.status == status, "\(body): \(answer.status) \(answer.text)")
            #expect(answer.text.contains(code), "\(body): \(answer.text)")
        }
    }
}
