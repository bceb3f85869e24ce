import Foundation
import Logging
import NIOHTTP1
import Testing
import WedSyncModels
import WedSyncPostgres
import WedSyncQueryOptimizer
import WedSyncTestSupport

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
            .POST,
            fixture.service.baseURL + "/v1/analyze",
            headers: (admin ? GatewayProcess.admin : []) + [("Content-Type", "application/json")],
            body: body
        )
    }

    static func request(_ sql: String, _ params: String = "[]", extra: String = "") -> String {
        let encoded = String(decoding: try! JSONEncoder().encode(sql), as: UTF8.self)
        return #"{"sql":\#(encoded),"params":\#(params)\#(extra)}"#
    }

    @Test(
        "The clients query: a full scan and a recommended clients (organization_id, wedding_date); once created, used, no full scan (timings printed)"
    )
    func clientsQuery() async throws {
        let fixture = try await Self.fixture.value
        let params = #"[7, "2026-06-01", "2026-06-30"]"#
        let before = try await Self.analyze(Self.request(Self.clientsQuery, params))
        #expect(before.status == 200, "\(before.text)")
        let first = try WedSyncJSON.makeDecoder().decode(AnalyzeResponse.self, from: before.data)
        #expect(first.analyzed && first.fullTableScan)
        #expect(first.executionTimeMs != nil && first.planningTimeMs != nil)
        #expect(
            first.findings.contains { $0.kind == "seq_scan_selective" && $0.node.hasSuffix("on public.clients") },
            "\(first.findings)"
        )
        let recommendation = try #require(first.recommendations.first, "\(first)")
        #expect(recommendation.table == "clients")
        #expect(recommendation.columns == ["organization_id", "wedding_date"], "equality first, then the range")
        #expect(recommendation.costAfter <= recommendation.costBefore / 2)
        #expect(recommendation.estimatedSizeBytes > 1_000_000)
        #expect(recommendation.createStatement.hasPrefix("CREATE INDEX CONCURRENTLY"))
        #expect(recommendation.createStatement.contains("ON public.clients (organization_id, wedding_date)"))
        #expect(
            !first.recommendations.contains { $0.predicate != nil },
            "a parameter's value is no reason for a partial index"
        )

        try await fixture.pool.withConnection { connection in
            try await connection.simpleQuery(recommendation.createStatement)
            try await connection.simpleQuery("ANALYZE clients")
        }
        let after = try WedSyncJSON.makeDecoder().decode(
            AnalyzeResponse.self,
            from: try await Self.analyze(Self.request(Self.clientsQuery, params)).data
        )
        #expect(after.indexUsage)
        #expect(!after.fullTableScan, "\(after.plan)")
        // How fast is shown, not asserted (a loaded machine can stall any single execution): the plan above proves the
        // index is used.
        print(
            "analyze: the clients query took \(first.executionTimeMs ?? -1) ms with a full scan, \(after.executionTimeMs ?? -1) ms with the index, at 1,000,000 clients"
        )
        #expect(
            !after.recommendations.contains { $0.table == "clients" && $0.columns.first == "organization_id" },
            "already covered by the new index"
        )
    }

    @Test(
        "One rule for a recommendation: an index that cuts a statement's cost by 30% is recommended (a 50% rule hid it); analyze plain, so the cost is the planner's"
    )
    func thirtyPercentCut() async throws {
        // A fifth of a million clients by budget: a bitmap scan of an index on it costs about 70% of the full scan.
        let sql = "SELECT id, name FROM clients WHERE budget BETWEEN 100 AND 1100"
        let answer = try await Self.analyze(Self.request(sql, extra: #","analyze":false"#))
        #expect(answer.status == 200, "\(answer.text)")
        let response = try WedSyncJSON.makeDecoder().decode(AnalyzeResponse.self, from: answer.data)
        let recommendation = try #require(
            response.recommendations.first { $0.table == "clients" && $0.columns == ["budget"] },
            "\(response.recommendations)"
        )
        #expect(recommendation.improvement > 0.1 && recommendation.improvement < 0.5, "\(recommendation)")
        #expect(recommendation.costBefore - recommendation.costAfter >= 100)
        #expect(MinimumImprovement().accepts(before: recommendation.costBefore, after: recommendation.costAfter))
    }

    @Test(
        "The same statement against same-named tables in two schemas: each schema's own findings, catalog and recommendations (by search path, and schema-qualified in one statement)"
    )
    func twoSchemas() async throws {
        let fixture = try await Self.fixture.value
        let params = #"[7, "2026-06-01", "2026-06-30"]"#
        func analyze(_ sql: String, _ extra: String) async throws -> AnalyzeResponse {
            let answer = try await Self.analyze(Self.request(sql, params, extra: extra))
            #expect(answer.status == 200, "\(answer.text)")
            return try WedSyncJSON.makeDecoder().decode(AnalyzeResponse.self, from: answer.data)
        }
        // The seed's clients query, its tables found in tenant_b (400,000 clients, no index but the key).
        let tenant = try await analyze(Self.clientsQuery, #","searchPath":["tenant_b"]"#)
        let tenantSchemas = Set(tenant.plan.allNodes.compactMap(\.schema))
        #expect(tenantSchemas == ["tenant_b"], "\(tenant.plan)")
        let scan = try #require(
            tenant.findings.first { $0.kind == "seq_scan_selective" && $0.node.hasSuffix("on tenant_b.clients") },
            "\(tenant.findings)"
        )
        // The rows read are tenant_b's, not the million of public.clients.
        let read = try #require(
            scan.message.split(separator: " ").dropFirst(2).first.flatMap { Double($0) },
            "\(scan.message)"
        )
        #expect(read > 360_000 && read < 440_000, "\(scan.message)")
        let recommendation = try #require(
            tenant.recommendations.first { $0.columns == ["organization_id", "wedding_date"] },
            "\(tenant.recommendations)"
        )
        #expect(recommendation.schema == "tenant_b" && recommendation.table == "clients")
        #expect(recommendation.createStatement.contains("ON tenant_b.clients (organization_id, wedding_date)"))
        #expect(tenant.recommendations.allSatisfy { $0.schema == "tenant_b" }, "\(tenant.recommendations)")

        // The same text on the role's search path: public's tables, public's answer, whichever indexes public has.
        let home = try await analyze(Self.clientsQuery, "")
        #expect(Set(home.plan.allNodes.compactMap(\.schema)) == ["public"], "\(home.plan)")
        #expect(home.recommendations.allSatisfy { $0.schema == "public" }, "\(home.recommendations)")
        #expect(!home.findings.contains { $0.node.contains("tenant_b") || $0.message.contains("tenant_b") })
        let indexed = try await fixture.pool.query(
            """
            SELECT count(*)::bigint FROM pg_index x WHERE x.indrelid = 'public.clients'::regclass
                AND x.indkey[0] = (SELECT attnum FROM pg_attribute WHERE attrelid = 'public.clients'::regclass AND attname = 'organization_id')
                AND x.indkey[1] = (SELECT attnum FROM pg_attribute WHERE attrelid = 'public.clients'::regclass AND attname = 'wedding_date')
            """
        )
        if try indexed.first?.decode(Int64.self, at: 0) ?? 0 > 0 {
            #expect(
                !home.fullTableScan && !home.recommendations.contains { $0.table == "clients" },
                "public's own index serves it"
            )
        } else {
            #expect(
                home.recommendations.contains { $0.columns == ["organization_id", "wedding_date"] },
                "\(home.recommendations)"
            )
        }

        // Both schemas in one statement, a subquery's alias reused (the plan names them c and c_1).
        let both = try await analyze(
            """
            SELECT c.name, x.id FROM public.clients c JOIN (SELECT c.id FROM tenant_b.clients c
                WHERE c.organization_id = $1 AND c.wedding_date BETWEEN $2 AND $3) x ON x.id = c.id
            """,
            #","analyze":false"#
        )
        #expect(Set(both.plan.allNodes.compactMap(\.schema)) == ["public", "tenant_b"], "\(both.plan)")
        #expect(
            both.recommendations.contains {
                $0.schema == "tenant_b" && $0.columns == ["organization_id", "wedding_date"]
            },
            "\(both.recommendations)"
        )
        #expect(
            !both.recommendations.contains { $0.schema == "public" && $0.columns.first == "organization_id" },
            "\(both.recommendations)"
        )

        // A search path is a list of names, checked.
        for bad in [
            #"["a\u0000b"]"#, #"[""]"#, "[" + Array(repeating: #""s""#, count: 17).joined(separator: ",") + "]",
        ] {
            let refused = try await Self.analyze(Self.request("SELECT 1", extra: #","searchPath":"# + bad))
            #expect(refused.status == 400 && refused.text.contains("searchPath"), "\(bad): \(refused.text)")
        }
        let missing = try await Self.analyze(
            Self.request("SELECT count(*) FROM clients", extra: #","analyze":false,"searchPath":["no_such_schema"]"#)
        )
        #expect(missing.status == 400 && missing.text.contains("42P01"), "\(missing.text)")
    }

    /// Each finding, on a real query built to show it.
    @Test(
        "Every finding on a real query built to trigger it",
        arguments: [
            (
                "row_estimate_off", "SELECT * FROM clients WHERE organization_id = 8 AND id % 1000 = 7",
                "on public.clients"
            ),
            ("sort_spill", "SELECT * FROM clients WHERE id <= 50000 ORDER BY name", "Sort"),
            (
                "hash_spill",
                "SELECT count(*) FROM clients c JOIN guest_lists g ON g.client_id + 0 = c.id WHERE c.id <= 200000",
                "Hash"
            ),
            (
                "nested_loop_many_loops",
                "SELECT c.id, g.guest_count FROM clients c CROSS JOIN LATERAL (SELECT guest_count FROM guest_lists WHERE client_id = c.id LIMIT 1) g WHERE c.id <= 5000",
                "Nested Loop"
            ),
            (
                "missing_fk_index",
                "SELECT c.name, p.amount FROM clients c JOIN payments p ON p.client_id = c.id WHERE c.id <= 1000",
                "Hash Join"
            ),
            (
                "index_only_scan_possible",
                "SELECT paid_on, amount FROM payments WHERE paid_on BETWEEN '2026-03-01' AND '2026-03-10'",
                "on public.payments"
            ),
            ("seq_scan_selective", "SELECT * FROM payments WHERE amount = 517", "Seq Scan on public.payments"),
        ]
    )
    func finding(kind: String, sql: String, node: String) async throws {
        let answer = try await Self.analyze(Self.request(sql, extra: #","recommend":false"#))
        #expect(answer.status == 200, "\(answer.text)")
        let response = try WedSyncJSON.makeDecoder().decode(AnalyzeResponse.self, from: answer.data)
        let found = response.findings.filter { $0.kind == kind }
        #expect(found.contains { $0.node.contains(node) }, "\(kind) on \(node): \(response.findings)")
        switch kind {
        case "missing_fk_index": #expect(found.contains { $0.message.contains("payments.client_id") })
        case "index_only_scan_possible":
            #expect(found.contains { $0.message.contains("ON public.payments (paid_on) INCLUDE (amount)") }, "\(found)")
        default: break
        }
    }

    @Test(
        "Writes change nothing: refused without the token, explained and rolled back with it; a hidden write is refused too"
    )
    func writes() async throws {
        let fixture = try await Self.fixture.value
        let delete = Self.request("DELETE FROM clients WHERE id = $1", "[42]")
        let refused = try await Self.analyze(delete)
        #expect(refused.status == 403 && refused.text.contains("write_refused"))
        let hidden = try await Self.analyze(
            Self.request("WITH gone AS (DELETE FROM clients WHERE id = 43 RETURNING id) SELECT * FROM gone")
        )
        #expect(hidden.status == 403)
        let noToken = try await Self.analyze(Self.request("SELECT 1"), admin: false)
        #expect(noToken.status == 401, "it runs queries on the database: admin only")
        #expect(try await Self.analyze(Self.request("SELECT 1; DELETE FROM clients WHERE id = 44")).status == 403)
        let stacked = try await Self.analyze(Self.request("SELECT 1; SELECT 2"))
        #expect(
            stacked.status == 400 && stacked.text.contains("invalid_sql"),
            "one statement at a time: \(stacked.text)"
        )
        let explained = try await Self.analyze(
            Self.request("DELETE FROM payments WHERE id = $1", "[42]", extra: #","allowWrite":true"#),
            admin: true
        )
        #expect(explained.status == 200, "\(explained.text)")
        let plan = try WedSyncJSON.makeDecoder().decode(AnalyzeResponse.self, from: explained.data)
        #expect(plan.analyzed && plan.plan.nodeType == "ModifyTable")
        let still = try await fixture.pool.query("SELECT count(*)::bigint FROM clients WHERE id IN (42, 43, 44)")
        #expect(try still.first?.decode(Int64.self, at: 0) == 3, "nothing hidden or refused ran")
        let payment = try await fixture.pool.query("SELECT count(*)::bigint FROM payments WHERE id = 42")
        #expect(
            try payment.first?.decode(Int64.self, at: 0) == 1,
            "the DELETE ran only inside a transaction that was rolled back"
        )
        // A function that writes, behind a SELECT: the transaction is read-only.
        try await fixture.pool.withConnection { try await $0.simpleQuery("CREATE SEQUENCE IF NOT EXISTS qo_probe") }
        let sneaky = try await Self.analyze(Self.request("SELECT nextval('qo_probe')"))
        #expect(sneaky.status == 403, "\(sneaky.text)")
    }

    @Test(
        "A statement past the timeout is a 422; what outlives a rollback (advisory locks) is cleared before the connection is reused"
    )
    func timeoutAndSessionState() async throws {
        let fixture = try await Self.fixture.value
        let short = #","timeoutMs":500"#
        let slow = try await Self.analyze(Self.request("SELECT pg_sleep(5)", extra: short))
        #expect(slow.status == 422 && slow.text.contains("statement_timeout"), "\(slow.text)")
        // Changing settings from inside the statement is refused outright.
        let lifted = try await Self.analyze(
            Self.request("SELECT 1 WHERE (SELECT set_config('statement_timeout', '0', false)) IS NOT NULL")
        )
        #expect(lifted.status == 400 && lifted.text.contains("function_refused"), "\(lifted.text)")
        #expect(try await Self.analyze(Self.request("SELECT pg_sleep(5)", extra: short)).status == 422)
        #expect(try await Self.analyze(Self.request("SELECT pg_advisory_lock(4242)")).status == 200)
        let free = try await fixture.pool.query("SELECT pg_try_advisory_lock(4242)")
        #expect(try free.first?.decode(Bool.self, at: 0) == true, "the lock the statement took was released")
        _ = try await fixture.pool.query("SELECT pg_advisory_unlock_all()")
    }

    @Test(
        "As its own role, the optimizer cannot act beyond its transaction; errors carry the SQLSTATE, never data; huge estimates saturate"
    )
    func leastPrivilege() async throws {
        let fixture = try await Self.fixture.value
        let role = try await fixture.pool.query(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, pg_has_role(rolname, 'pg_read_all_stats', 'member') FROM pg_roles WHERE rolname = \(fixture.role)"
        )
        let (superuser, createsRoles, createsDatabases, readsStatistics) = try #require(
            try role.first?.decode((Bool, Bool, Bool, Bool).self)
        )
        #expect(
            !superuser && !createsRoles && !createsDatabases && readsStatistics,
            "no superuser; reads other roles' statistics"
        )
        // A session of the test's own, which the statements below try to end: it outlives them all.
        let held = PostgresPool(
            name: "held",
            configuration: try PostgresConfiguration(url: fixture.url),
            logger: Logger(label: "test")
        )
        defer { Task { await held.shutdown() } }
        let victim = try await held.query("SELECT pg_backend_pid()").first?.decode(Int.self, at: 0) ?? 0
        // Refused before anything runs: signals, files, configuration, other sessions, settings beyond the statement.
        for sql in [
            "SELECT pg_terminate_backend(\(victim))", "SELECT pg_cancel_backend(pid) FROM pg_stat_activity",
            "SELECT pg_reload_conf()", "SELECT pg_read_file('/etc/passwd')", "SELECT pg_ls_dir('.')",
            "SELECT lo_import('/etc/passwd')",
            "SELECT * FROM dblink('dbname=postgres', 'SELECT 1') AS t(a int)",
            "SELECT set_config('work_mem', '1GB', false)",
            "SELECT \"PG_RELOAD_CONF\"()",
        ] {
            let answer = try await Self.analyze(Self.request(sql))
            #expect(answer.status == 400 && answer.text.contains("function_refused"), "\(sql): \(answer.text)")
        }
        // What the deny-list does not name, the role cannot do: permission denied, as a 403 with the SQLSTATE.
        for sql in ["SELECT rolpassword FROM pg_authid", "SELECT * FROM pg_hba_file_rules"] {
            let answer = try await Self.analyze(Self.request(sql))
            #expect(answer.status == 403 && answer.text.contains("42501"), "\(sql): \(answer.text)")
        }
        #expect(
            try await held.query("SELECT pg_backend_pid()").first?.decode(Int.self, at: 0) == victim,
            "the session was not ended"
        )
        // A failing cast quotes its input in PostgreSQL's own message: the answer gives the SQLSTATE and condition only.
        let leak = try await Self.analyze(Self.request("SELECT string_agg(name, ',')::int FROM clients WHERE id <= 3"))
        #expect(leak.status == 400 && leak.text.contains("22P02") && !leak.text.contains("client 1"), "\(leak.text)")
        // Seven cross-joined series: the planner estimates more rows than Int holds; the answer is a plan, not a crash.
        let series = (1...7).map { "generate_series(1, 1000) s\($0)" }.joined(separator: ", ")
        let huge = try await Self.analyze(
            Self.request("SELECT 1 FROM \(series) LIMIT 1", extra: #","recommend":false"#)
        )
        #expect(huge.status == 200, "\(huge.text)")
        #expect(try WedSyncJSON.makeDecoder().decode(AnalyzeResponse.self, from: huge.data).plan.planRows >= 1)
    }

    @Test("Plain EXPLAIN on request, bad input as 4xx: not JSON, no SQL, a syntax error, a missing table")
    func badInput() async throws {
        let plain = try await Self.analyze(
            Self.request("SELECT count(*) FROM clients WHERE budget > $1", "[4000]", extra: #","analyze":false"#)
        )
        #expect(plain.status == 200)
        let response = try WedSyncJSON.makeDecoder().decode(AnalyzeResponse.self, from: plain.data)
        #expect(!response.analyzed && response.executionTimeMs == nil && response.plan.actualRows == nil)
        for (body, status, code) in [
            ("not json", 400, "invalid_body"), (#"{"sql":""}"#, 400, "invalid_body"),
            (Self.request("SELEC 1"), 403, "write_refused"),
            (Self.request("SELECT * FROM clients WHERE"), 400, "invalid_sql"),
            (Self.request("SELECT * FROM no_such_table"), 400, "invalid_sql"),
            (Self.request("SELECT $1::int", #"[{"a":1}]"#), 400, "invalid_body"),
            (Self.request("SELECT $1::int", "[[1]]"), 400, "invalid_body"),
        ] {
            let answer = try await Self.analyze(body)
            #expect(answer.status == status, "\(body): \(answer.status) \(answer.text)")
            #expect(answer.text.contains(code), "\(body): \(answer.text)")
        }
    }
}
