import Foundation
import Logging
import NIOHTTP1
import Testing
import WedSyncModels
import WedSyncPostgres
import WedSyncQueryOptimizer
import WedSyncTestSupport

/// Workload analysis from pg_stat_statements, N+1 detection from query events, index, table and connection
/// health, and the report (JSON, HTML, and findings sent to the metrics service), on ``QueryOptimizerFixture``.
@Suite("Query optimizer: workload, N+1, health and the report", .serialized, .timeLimit(.minutes(5)))
struct QueryOptimizerReportTests {
    static let tag = UUID().uuidString.prefix(8).lowercased()

    static func query(_ fingerprint: String, request: String, route: String, ms: Double = 2) -> MetricEvent {
        .databaseQuery(
            DatabaseQueryEvent(
                timestamp: Date(),
                fingerprint: fingerprint,
                durationMs: ms,
                rows: 1,
                requestId: request,
                route: route
            )
        )
    }

    @Test(
        "A request running one statement 6 times is an N+1 (across batches, constants folded); 4 distinct statements, or 4 runs, are not"
    )
    func nPlusOne() async throws {
        let fixture = try await QueryOptimizerFixture.shared.value
        let route = "/api/weddings/{id}/guests-\(Self.tag)"
        let repeated = "SELECT g.* FROM guests g WHERE g.wedding_id = $1"
        let first = (0..<3).map { _ in Self.query(repeated, request: "n1-\(Self.tag)", route: route) }
        let second = (0..<3).map { _ in Self.query(repeated, request: "n1-\(Self.tag)", route: route) }
        #expect(try await fixture.post(first).status == 200)
        #expect(try await fixture.post(second).status == 200, "the same request, reported in a second batch")
        let distinct = [
            "SELECT * FROM clients WHERE id = $1", "SELECT * FROM guest_lists WHERE client_id = $1",
            "SELECT * FROM payments WHERE client_id = $1",
            "SELECT count(*) FROM notes WHERE client_id = $1",
        ]
        let calm = "/api/clients/{id}-\(Self.tag)"
        #expect(
            try await fixture.post(distinct.map { Self.query($0, request: "distinct-\(Self.tag)", route: calm) }).status
                == 200
        )
        #expect(
            try await fixture.post((0..<4).map { _ in Self.query(repeated, request: "four-\(Self.tag)", route: calm) })
                .status == 200
        )
        // Constants written into the statement fold: five ids are one statement, and no id reaches the report.
        let literal = "/api/guests/by-name-\(Self.tag)"
        let named = (0..<5).map {
            Self.query(
                "SELECT * FROM guests WHERE name = 'Guest \($0)' AND id = \(100 + $0)",
                request: "literal-\(Self.tag)",
                route: literal
            )
        }
        #expect(try await fixture.post(named).status == 200)

        let report = try await fixture.get(APIPath.QueryOptimizer.nPlusOne, as: NPlusOneReport.self)
        #expect(report.threshold == 5)
        let flagged = try #require(report.patterns.first { $0.route == route }, "\(report.patterns)")
        #expect(flagged.requests == 1 && flagged.executions == 6 && flagged.maximumPerRequest == 6)
        #expect(abs(flagged.totalTimeMs - 12) < 0.001 && flagged.exampleRequestId == "n1-\(Self.tag)")
        #expect(flagged.batchedForm.contains("g.wedding_id = ANY($1)"), "\(flagged.batchedForm)")
        #expect(!report.patterns.contains { $0.route == calm }, "4 distinct statements, or one run 4 times, are no N+1")
        let folded = try #require(report.patterns.first { $0.route == literal })
        #expect(folded.fingerprint == "SELECT * FROM guests WHERE name = ? AND id = ?" && folded.executions == 5)
        let text = try await HTTP.send(
            .GET,
            fixture.service.baseURL + APIPath.QueryOptimizer.nPlusOne,
            headers: GatewayProcess.admin
        ).text
        // The constants as the statement wrote them (a bare "103" may be any figure of the report, a time say).
        #expect(!text.contains("Guest 3") && !text.contains("= 103"), "constants never reach the report")

        #expect(try await HTTP.send(.GET, fixture.service.baseURL + APIPath.QueryOptimizer.nPlusOne).status == 401)
        let bad = try await HTTP.send(
            .POST,
            fixture.service.baseURL + APIPath.QueryOptimizer.queryEvents,
            headers: [("Content-Type", "application/json")] + TestCredentials.asService("wedsync-api"),
            body: #"{"events":[{"type":"nope"}]}"#
        )
        #expect(bad.status == 400 && bad.text.contains("\"error\""), "\(bad.text)")
        // Only the API reports query events: anyone else cannot make NPlusOneQueries fire.
        let valid = String(
            decoding: try WedSyncJSON.makeEncoder().encode(
                MetricEventBatch(events: [Self.query(repeated, request: "spoof-\(Self.tag)", route: route)])
            ),
            as: UTF8.self
        )
        for (headers, status) in [
            ([(String, String)](), 401), (TestCredentials.asService("wedsync-gateway"), 403),
            (TestCredentials.asMonitor, 403),
        ] {
            let refused = try await HTTP.send(
                .POST,
                fixture.service.baseURL + APIPath.QueryOptimizer.queryEvents,
                headers: [("Content-Type", "application/json")] + headers,
                body: valid
            )
            #expect(refused.status == status, "\(refused.text)")
        }
        let huge = try await fixture.post(
            (0..<5).map { _ in Self.query(repeated, request: "huge-\(Self.tag)", route: route, ms: 1e300) }
        )
        #expect(huge.status == 400 && huge.text.contains("events[0].durationMs"), "\(huge.text)")
    }

    @Test(
        "Workload from pg_stat_statements: top statements, one index serving two statements rather than one each, and the next for a third"
    )
    func workload() async throws {
        let fixture = try await QueryOptimizerFixture.shared.value
        let both = "SELECT * FROM payments WHERE method = $1 AND client_id = $2"
        let sum = "SELECT sum(amount) FROM payments WHERE client_id = $1"
        let guests = "SELECT id FROM guest_lists WHERE guest_count = $1"
        for index in 0..<40 {
            _ = try await fixture.pool.query(
                PostgresQuery(sql: both, binds: [index % 2 == 0 ? "card" : "transfer", Int64(1 + index * 7)])
            )
            _ = try await fixture.pool.query(PostgresQuery(sql: sum, binds: [Int64(1 + index * 7)]))
            _ = try await fixture.pool.query(PostgresQuery(sql: guests, binds: [Int32(20 + index)]))
        }
        // A statement whose parameter's type PostgreSQL cannot tell cannot be planned, and is counted as such.
        try await fixture.pool.withConnection { try await $0.simpleQuery("SELECT 'probe \(Self.tag)'") }
        // `SELECT ... INTO` is a utility statement: PostgreSQL keeps its text, constants and all.
        try await fixture.pool.withConnection {
            try await $0.simpleQuery("SELECT 'Probe Guest \(Self.tag)'::text AS name INTO TEMP probe_\(Self.tag)")
        }

        let raw = try await HTTP.send(
            .GET,
            fixture.service.baseURL + APIPath.QueryOptimizer.workload + "?top=100&recommend=false",
            headers: GatewayProcess.admin
        )
        #expect(
            raw.text.contains("probe_\(Self.tag)") && !raw.text.contains("Probe Guest"),
            "a kept constant is folded before it leaves"
        )
        let report = try await fixture.get(APIPath.QueryOptimizer.workload + "?top=20", as: WorkloadReport.self)
        let first = try #require(
            report.topByTotalTime.first { $0.query == both },
            "\(report.topByTotalTime.map(\.query))"
        )
        let second = try #require(report.topByTotalTime.first { $0.query == sum })
        #expect(first.calls == 40 && second.calls == 40 && first.meanTimeMs > 0 && first.shareOfTotalTime > 0)
        #expect(report.topByCalls.count <= 20 && report.planned >= 2 && report.unplannable >= 1)
        let payments = report.recommendations.filter { $0.table == "payments" }
        let chosen = try #require(payments.first, "\(report.recommendations)")
        #expect(chosen.columns == ["client_id"], "the index both statements use: \(payments)")
        #expect(Set(chosen.served.map(\.queryId)).isSuperset(of: [first.queryId, second.queryId]))
        #expect(payments.count == 1, "nothing left for a second payments index to save: \(payments)")
        #expect(
            chosen.createStatement == "CREATE INDEX CONCURRENTLY idx_payments_client_id ON public.payments (client_id);"
        )
        #expect(chosen.workloadImprovement > 0.02 && chosen.estimatedSizeBytes > 0)
        #expect(chosen.served.allSatisfy { $0.costAfter < $0.costBefore / 2 })
        // A second round: the guest lists' own index, for the statement the first one does nothing for.
        let third = try #require(report.topByTotalTime.first { $0.query == guests })
        let counts = try #require(
            report.recommendations.first { $0.table == "guest_lists" },
            "\(report.recommendations)"
        )
        #expect(counts.columns == ["guest_count"] && counts.served.map(\.queryId) == [third.queryId])
        #expect(
            !report.topByTotalTime.contains {
                $0.query.uppercased().hasPrefix("EXPLAIN") || $0.query.contains("pg_")
                    || $0.query.contains("current_database")
            },
            "not the optimizer's own: \(report.topByTotalTime.map(\.query))"
        )

        let bad = try await HTTP.send(
            .GET,
            fixture.service.baseURL + APIPath.QueryOptimizer.workload + "?top=0",
            headers: GatewayProcess.admin
        )
        #expect(bad.status == 400 && bad.text.contains("invalid_parameter"))
    }

    @Test(
        "Workload in two schemas: the same text run on tenant_b's tables and on public's is planned on each (its query identifier), and each gets its index in its own schema"
    )
    func workloadTwoSchemas() async throws {
        let fixture = try await QueryOptimizerFixture.shared.value
        let sql = "SELECT id, name FROM clients WHERE budget = $1 AND wedding_date = $2"
        for schema in ["tenant_b", "public"] {
            try await fixture.pool.withConnection { connection in
                try await connection.simpleQuery("SET search_path = \(schema)")
                for index in 0..<30 {
                    _ = try await connection.query(
                        PostgresQuery(sql: sql, binds: [Int64(100 + index), "2026-06-\(10 + index % 10)"]),
                        prepared: false
                    )
                }
                try await connection.simpleQuery("RESET search_path")
            }
        }
        let report = try await fixture.get(APIPath.QueryOptimizer.workload + "?top=50", as: WorkloadReport.self)
        let entries = report.topByTotalTime.filter { $0.query == sql }
        #expect(entries.count == 2, "one entry a schema: \(report.topByTotalTime.map(\.query))")
        let ids = Set(entries.map(\.queryId))
        let serving = report.recommendations.filter { !ids.isDisjoint(with: $0.served.map(\.queryId)) }
        let tenant = try #require(serving.first { $0.schema == "tenant_b" }, "\(report.recommendations)")
        let home = try #require(serving.first { $0.schema == "public" }, "\(report.recommendations)")
        #expect(tenant.table == "clients" && tenant.columns.first == "budget", "\(tenant)")
        #expect(tenant.createStatement.contains(" ON tenant_b.clients (budget"), "\(tenant.createStatement)")
        #expect(home.table == "clients" && home.createStatement.contains(" ON public.clients (budget"))
        // Each statement is served in its own schema only.
        let tenantServed = Set(tenant.served.map(\.queryId)).intersection(ids)
        let homeServed = Set(home.served.map(\.queryId)).intersection(ids)
        #expect(tenantServed.count == 1 && homeServed.count == 1 && tenantServed != homeServed)
    }

    @Test(
        "Slow statements: one that ran past optimizer.slow-statement-ms is captured with its generic plan, and one the API reported slow with its findings; both in the report and its page"
    )
    func slowStatements() async throws {
        let fixture = try await QueryOptimizerFixture.shared.value
        // Slow for certain: the update waits for a row another transaction holds, 300 ms or more.
        let slow = "UPDATE payments SET amount = amount WHERE id = $1"
        let holder = PostgresPool(
            name: "holder",
            configuration: try PostgresConfiguration(url: fixture.url),
            logger: Logger(label: "test")
        )
        try await holder.withConnection { connection in
            try await connection.simpleQuery("BEGIN")
            _ = try await connection.query("SELECT 1 FROM payments WHERE id = 77 FOR UPDATE", prepared: false)
            let waiting = Task {
                try await fixture.pool.execute(PostgresQuery(sql: slow, binds: [Int64(77)]))
            }
            // Held for 300 ms from the moment the update waits on the row.
            let started = ContinuousClock.now
            while ContinuousClock.now - started < .seconds(60) {
                let blocked = try await fixture.pool.query(
                    PostgresQuery(
                        sql:
                            "SELECT count(*)::bigint FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query = $1",
                        binds: [slow]
                    )
                )
                if try blocked.first?.decode(Int64.self, at: 0) ?? 0 > 0 { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds(300))
            try await connection.simpleQuery("COMMIT")
            _ = try await waiting.value
        }
        await holder.shutdown()
        // The API reports another statement slow (900 ms) that ran quickly here: matched by its text.
        let reported = "SELECT id FROM payments WHERE amount = $1 AND method = $2"
        _ = try await fixture.pool.query(PostgresQuery(sql: reported, binds: [Int64(517), "card"]))
        #expect(
            try await fixture.post([Self.query(reported, request: "slow-\(Self.tag)", route: "/api/slow", ms: 900)])
                .status == 200
        )
        // Reported slow, never run: not planned (a report is no statement to run).
        let unknown = "SELECT * FROM payments WHERE method = $1 AND paid_on = $2"
        #expect(
            try await fixture.post([Self.query(unknown, request: "slow-\(Self.tag)", route: "/api/slow", ms: 900)])
                .status == 200
        )
        let posted = ContinuousClock.now
        // Captured at the next report interval (1 s here): waited for, not timed.
        var report = SlowStatementsReport(thresholdMs: 0, statements: [])
        var fromStatistics: SlowStatement?
        var fromEvents: SlowStatement?
        while ContinuousClock.now - posted < .seconds(60) {
            report = try await fixture.get(APIPath.QueryOptimizer.slowStatements, as: SlowStatementsReport.self)
            fromStatistics = report.statements.first { $0.fingerprint == slow }
            fromEvents = report.statements.first { $0.fingerprint == reported }
            if fromStatistics != nil && fromEvents != nil { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        print("slow statement: both captured \((ContinuousClock.now - posted) / .milliseconds(1)) ms after the event")
        #expect(report.thresholdMs == 100)
        let measured = try #require(fromStatistics, "\(report.statements.map(\.fingerprint))")
        #expect(measured.source == "pg_stat_statements" && measured.queryId != nil && measured.maxTimeMs >= 300)
        #expect(measured.calls ?? 0 >= 1 && measured.unplannable == nil)
        let plan = try #require(measured.plan)
        #expect(plan.nodeType == "ModifyTable" && plan.allNodes.contains { $0.relationName == "public.payments" })
        let event = try #require(fromEvents)
        #expect(event.source == "query_events" && event.maxTimeMs == 900 && event.queryId != nil)
        #expect(!report.statements.contains { $0.fingerprint == unknown }, "an event alone is never planned")
        #expect(
            event.findings.contains { $0.kind == "seq_scan_selective" && $0.node == "Seq Scan on public.payments" },
            "\(event.findings)"
        )
        // Fast statements are not captured.
        #expect(!report.statements.contains { $0.maxTimeMs < 100 })
        let whole = try await fixture.get(APIPath.QueryOptimizer.report, as: OptimizerReport.self)
        #expect(whole.slowStatements?.statements.contains { $0.fingerprint == slow } == true)
        #expect(whole.findings.contains { $0.kind == "slow_statement" && $0.message.contains("seq_scan_selective") })
        let page = try await HTTP.send(
            .GET,
            fixture.service.baseURL + APIPath.QueryOptimizer.report + "?format=html",
            headers: GatewayProcess.admin
        )
        #expect(page.text.contains("<h2>Slow statements</h2>") && page.text.contains("Seq Scan on public.payments"))
    }

    @Test(
        "Index and table health: unused, duplicate and redundant indexes; bloat; tables read by sequential scans; cache hit ratios"
    )
    func health() async throws {
        let fixture = try await QueryOptimizerFixture.shared.value
        try await fixture.pool.withConnection { connection in
            for amount in 500..<506 {
                _ = try await connection.query(
                    PostgresQuery(sql: "SELECT count(*) FROM payments WHERE amount = $1", binds: [amount])
                )
            }
            try await connection.simpleQuery("SELECT pg_stat_force_next_flush()")
            try await connection.simpleQuery("SELECT 1")
        }
        let indexes = try await fixture.get(APIPath.QueryOptimizer.indexes, as: IndexHealthReport.self)
        #expect(
            indexes.unused.contains { $0.index == "notes_body" && $0.sizeBytes > 0 && $0.definition.contains("(body)") }
        )
        #expect(!indexes.unused.contains { $0.index == "notes_pkey" }, "a primary key enforces a constraint")
        let duplicate = try #require(
            indexes.redundant.first { $0.index == "notes_created_again" },
            "\(indexes.redundant)"
        )
        #expect(duplicate.reason == "duplicate" && duplicate.coveredBy == "notes_created")
        #expect(duplicate.dropStatement == "DROP INDEX CONCURRENTLY public.notes_created_again;")
        let prefix = try #require(indexes.redundant.first { $0.index == "notes_created" })
        #expect(prefix.reason == "prefix" && prefix.coveredBy == "notes_created_client")
        #expect(!indexes.redundant.contains { $0.index == "notes_created_client" || $0.index.hasSuffix("_pkey") })
        #expect(indexes.indexCacheHitRatio != nil)

        let tables = try await fixture.get(APIPath.QueryOptimizer.tables, as: TableHealthReport.self)
        let notes = try #require(tables.tables.first { $0.table == "notes" })
        #expect(
            notes.findings.contains("bloated") && notes.bloatShare > 0.5 && notes.bloatShare < 0.85,
            "70% deleted: \(notes)"
        )
        #expect(notes.deadRows > 50_000 && notes.rows < 40_000)
        let clients = try #require(tables.tables.first { $0.table == "clients" })
        #expect(
            !clients.findings.contains("bloated") && clients.bloatShare < 0.15,
            "a table without deletes: \(clients)"
        )
        let payments = try #require(tables.tables.first { $0.table == "payments" })
        #expect(payments.findings.contains("sequential_scans_dominate") && payments.sequentialScans >= 6, "\(payments)")
        #expect(tables.tableCacheHitRatio != nil && payments.cacheHitRatio != nil)
    }

    @Test(
        "Connections: a lock wait and a long transaction seen, the services' pools read, a dead one down, and the database the bottleneck"
    )
    func connections() async throws {
        let fixture = try await QueryOptimizerFixture.shared.value
        let logger = Logger(label: "test")
        let holder = PostgresPool(
            name: "holder",
            configuration: try PostgresConfiguration(url: fixture.url),
            logger: logger
        )
        let waiter = PostgresPool(
            name: "waiter",
            configuration: try PostgresConfiguration(url: fixture.url),
            logger: logger
        )
        let calm = try await fixture.get(APIPath.QueryOptimizer.connections, as: ConnectionHealthReport.self)
        #expect(calm.maxConnections >= 10 && calm.connections >= 1)
        #expect(calm.pools.contains { $0.service == "api" && $0.up && $0.maximum > 0 }, "\(calm.pools)")
        #expect(calm.pools.contains { $0.service == "ghost" && !$0.up })

        // The lock is held until the test has seen what it needs (or, should the test fail first, for a minute).
        let release = Flag()
        defer { release.raise() }
        let held = Task {
            try await holder.withConnection { connection in
                try await connection.simpleQuery("BEGIN; LOCK TABLE notes IN EXCLUSIVE MODE")
                let deadline = ContinuousClock.now + .seconds(60)
                while !release.isRaised, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                try await connection.simpleQuery("ROLLBACK")
            }
        }
        let locked = await eventually(timeout: .seconds(30)) {
            let rows = try? await fixture.pool.query(
                "SELECT count(*)::bigint FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'notes' AND l.mode = 'ExclusiveLock' AND l.granted"
            )
            return (try? rows?.first?.decode(Int64.self, at: 0)) == 1
        }
        #expect(locked)
        let waited = Task {
            try await waiter.withConnection { connection in
                try await connection.simpleQuery("BEGIN; SELECT 1 FROM notes WHERE id = 9 FOR UPDATE; ROLLBACK")
            }
        }
        var found: ConnectionHealthReport?
        let seen = await eventually(timeout: .seconds(30)) {
            guard
                let report = try? await fixture.get(APIPath.QueryOptimizer.connections, as: ConnectionHealthReport.self)
            else { return false }
            found = report
            return report.waiting.contains { $0.query.contains("FOR UPDATE") }
                && report.longTransactions.contains { $0.state == "idle in transaction" }
        }
        #expect(seen)
        let busy = try #require(found)
        #expect(
            busy.waiting.contains { $0.waitEventType == "Lock" && $0.query.contains("FOR UPDATE") },
            "\(busy.waiting)"
        )
        #expect(
            busy.longTransactions.contains { $0.state == "idle in transaction" && ($0.transactionSeconds ?? 0) >= 1 },
            "\(busy.longTransactions)"
        )
        #expect(busy.byState["idle in transaction", default: 0] >= 1)
        #expect(
            busy.verdict.bottleneck == "database" && busy.verdict.reasons.contains { $0.contains("wait on locks") },
            "\(busy.verdict)"
        )
        release.raise()
        try await held.value
        try await waited.value
        await holder.shutdown()
        await waiter.shutdown()
    }

    @Test(
        "The report: every section as JSON and as an escaped HTML page, and its findings on the metrics service, where an alert fires on them"
    )
    func report() async throws {
        let fixture = try await QueryOptimizerFixture.shared.value
        let route = "/api/x/</td><script>alert(1)</script>-\(Self.tag)"
        #expect(
            try await fixture.post(
                (0..<7).map { _ in
                    Self.query("SELECT * FROM notes WHERE client_id = $1", request: "report-\(Self.tag)", route: route)
                }
            ).status == 200
        )
        // A `<` joined to a prepended mark (U+0600) is one grapheme in Swift, and still a `<` to the browser.
        let prepended = "/api/y/\u{0600}<img src=x onerror=alert(2)>-\(Self.tag)"
        #expect(
            try await fixture.post(
                (0..<5).map { _ in
                    Self.query("SELECT * FROM notes WHERE id = $1", request: "prepend-\(Self.tag)", route: prepended)
                }
            ).status == 200
        )

        let report = try await fixture.get(APIPath.QueryOptimizer.report, as: OptimizerReport.self)
        #expect(report.errors.isEmpty, "\(report.errors)")
        #expect(
            report.database.hasPrefix("qo_") && report.workload != nil && report.indexes != nil && report.tables != nil
                && report.connections != nil
        )
        #expect(report.findings.contains { $0.kind == "n_plus_one" && $0.subject == route })
        #expect(report.findings.contains { $0.kind == "redundant_index" && $0.subject == "notes_created_again" })
        #expect(report.findings.contains { $0.kind == "bloated_table" && $0.subject == "notes" })
        let order = ["critical": 0, "warning": 1, "info": 2]
        #expect(
            report.findings.map { order[$0.severity] ?? 9 } == report.findings.map { order[$0.severity] ?? 9 }.sorted(),
            "most severe first"
        )

        let page = try await HTTP.send(
            .GET,
            fixture.service.baseURL + APIPath.QueryOptimizer.report + "?format=html&recommend=false",
            headers: GatewayProcess.admin
        )
        #expect(
            page.status == 200
                && (page.headers.first { $0.0.lowercased() == "content-type" }?.1 ?? "").hasPrefix("text/html")
        )
        #expect(
            page.text.contains("<h1>Query optimizer report: qo_") && page.text.contains("<h2>N+1 requests</h2>")
                && page.text.contains("notes_created_again")
        )
        #expect(
            page.text.contains("&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;")
                && !page.text.contains("<script>alert(1)"),
            "text from events is escaped"
        )
        #expect(
            page.text.contains("&lt;img src=x onerror=alert(2)&gt;") && page.data.range(of: Data("<img".utf8)) == nil,
            "no raw <img, byte for byte"
        )
        #expect(
            page.headers.first { $0.0.lowercased() == "content-security-policy" }?.1
                == "default-src 'none'; style-src 'unsafe-inline'"
        )
        #expect(
            try await HTTP.send(
                .GET,
                fixture.service.baseURL + APIPath.QueryOptimizer.report + "?format=pdf",
                headers: GatewayProcess.admin
            ).status == 400
        )
        #expect(try await HTTP.send(.GET, fixture.service.baseURL + APIPath.QueryOptimizer.report).status == 401)

        // Every second the findings go to the metrics service as events; its rule on them fires.
        let exposed = await eventually(timeout: .seconds(20)) {
            let text = (try? await HTTP.get(fixture.metrics.baseURL + "/metrics"))?.text ?? ""
            return text.contains(#"wedsync_findings{kind="n_plus_one",severity="warning",source="query-optimizer"}"#)
                && text.contains(
                    #"wedsync_findings{kind="bloated_table",severity="warning",source="query-optimizer"} 1"#
                )
        }
        #expect(exposed)
        let fired = await eventually(timeout: .seconds(20)) {
            let alerts =
                (try? await HTTP.get(fixture.metrics.baseURL + "/v1/alerts", headers: TestCredentials.asMonitor))
                .flatMap { try? WedSyncJSON.makeDecoder().decode([SeenAlert].self, from: $0.data) } ?? []
            return alerts.contains {
                $0.name.hasPrefix("NPlusOne") && $0.state == "firing" && $0.labels["kind"] == "n_plus_one"
            }
        }
        #expect(fired)
        let spoof =
            #"{"events":[{"type":"finding","timestamp":"\#(ISO8601.format(Date()))","source":"x","kind":"lock_waits","severity":"critical","count":9}]}"#
        let refused = try await HTTP.send(
            .POST,
            fixture.metrics.baseURL + APIPath.Metrics.events,
            headers: [("Content-Type", "application/json")],
            body: spoof
        )
        #expect(refused.status == 401, "findings fire alerts: anonymous callers cannot report them")
        for sender in ["wedsync-api", "wedsync-gateway"] {
            let forbidden = try await HTTP.send(
                .POST,
                fixture.metrics.baseURL + APIPath.Metrics.events,
                headers: [("Content-Type", "application/json")] + TestCredentials.asService(sender),
                body: spoof
            )
            #expect(forbidden.status == 403, "only the query optimizer (or the admin) reports findings, not \(sender)")
        }
        let alerts = try WedSyncJSON.makeDecoder().decode(
            [SeenAlert].self,
            from: try await HTTP.get(fixture.metrics.baseURL + "/v1/alerts", headers: TestCredentials.asMonitor).data
        )
        #expect(!alerts.contains { $0.labels["kind"] == "bloated_table" }, "the rule matches kind n_plus_one only")
    }
}

/// An alert as the metrics service's `GET /v1/alerts` shows it, as far as these tests read it.
private struct SeenAlert: Decodable {
    var name: String
    var state: String
    var labels: [String: String]
}
