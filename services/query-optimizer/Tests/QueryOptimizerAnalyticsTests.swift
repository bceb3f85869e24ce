import Foundation
import Logging
import NIOHTTP1
import Synchronization
import Testing
import WedSyncModels
import WedSyncPostgres
import WedSyncQueryOptimizer
import WedSyncTestSupport

/// The optimizer on an analytical workload of its own (``AnalyticsFixture``): 22 decision-support queries over a
/// snowflake schema in schema `olap`, with joins, correlated subqueries, EXISTS and IN, LIKE prefixes, date
/// ranges and GROUP BY, columns mostly unqualified. Scored as any index advisor is: each recommendation made
/// hypothetically in a session of its own and the statement planned with plain EXPLAIN.
@Suite("Query optimizer: an analytical workload in its own schema", .serialized, .timeLimit(.minutes(5)))
struct QueryOptimizerAnalyticsTests {
    static var fixture: Task<AnalyticsFixture, any Error> { AnalyticsFixture.shared }

    /// What the tests judge, taken before any index is built here (the apply tests build some): every query
    /// analyzed once, plan only (several would take minutes to run without their indexes); the schema's indexes;
    /// and each recommendation's and combination's costs planned again in a fresh session.
    struct Baseline: Sendable {
        var analyses: [(query: NamedStatement, response: AnalyzeResponse)]
        /// Table → each index's key columns.
        var existing: [String: [[String]]]
        /// Query, indexes, the optimizer's costs before and after, and the fresh session's.
        var reproduced:
            [(query: String, indexes: [String], before: Double, after: Double, freshBefore: Double, freshAfter: Double)]
    }

    static let baseline = Task { () throws -> Baseline in
        let fixture = try await AnalyticsFixture.shared.value
        var analyses: [(query: NamedStatement, response: AnalyzeResponse)] = []
        for query in fixture.queries {
            let body = String(
                decoding: try JSONEncoder().encode(AnalyzeRequest(sql: query.sql, analyze: false)),
                as: UTF8.self
            )
            let answer = try await HTTP.send(
                .POST,
                fixture.service.baseURL + "/v1/analyze",
                headers: GatewayProcess.admin + [("Content-Type", "application/json")],
                body: body
            )
            guard answer.status == 200 else {
                throw QueryOptimizerFixture.Failure(description: "\(query.name): \(answer.status) \(answer.text)")
            }
            analyses.append((query, try WedSyncJSON.makeDecoder().decode(AnalyzeResponse.self, from: answer.data)))
        }
        let rows = try await fixture.pool.query(
            """
            SELECT t.relname, array_to_string(ARRAY(SELECT a.attname FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(n, o)
                JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n WHERE k.o <= x.indnkeyatts ORDER BY k.o), ',')
            FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid WHERE t.relnamespace = 'olap'::regnamespace
            """
        )
        var existing: [String: [[String]]] = [:]
        for row in rows {
            existing[try row.decode(String.self, at: 0), default: []].append(
                try row.decode(String.self, at: 1).split(separator: ",").map(String.init)
            )
        }
        // A pool of its own: a session nothing else has touched.
        let fresh = PostgresPool(
            name: "fresh",
            configuration: try PostgresConfiguration(url: fixture.url),
            logger: Logger(label: "test")
        )
        let reproduced = try await fresh.withConnection { connection in
            var reproduced: [(String, [String], Double, Double, Double, Double)] = []
            for (query, response) in analyses where !response.recommendations.isEmpty {
                let before = try await IndexSetScore.costs(of: [query.sql], with: [], on: connection)[0]
                let sets =
                    response.recommendations.map { ([$0.createStatement], $0.costBefore, $0.costAfter) }
                    + response.combinations.map { ($0.createStatements, $0.costBefore, $0.costAfter) }
                for (indexes, costBefore, costAfter) in sets {
                    let after = try await IndexSetScore.costs(of: [query.sql], with: indexes, on: connection)[0]
                    reproduced.append((query.name, indexes, costBefore, costAfter, before, after))
                }
            }
            return reproduced
        }
        await fresh.shutdown()
        return Baseline(analyses: analyses, existing: existing, reproduced: reproduced)
    }

    @Test(
        "22 queries: recommendations on at least 12, each in schema olap; the correlated subquery's join column cuts its cost by over 90%; a LIKE prefix gets text_pattern_ops; queries existing indexes serve get none"
    )
    func recommendations() async throws {
        let analyses = try await Self.baseline.value.analyses
        #expect(analyses.count == 22)
        let served = analyses.filter { !$0.response.recommendations.isEmpty }
        #expect(served.count >= 12, "\(served.map { $0.query.name })")
        for (query, response) in analyses {
            let statements = response.recommendations.map(\.createStatement)
            #expect(
                response.recommendations.allSatisfy { $0.schema == "olap" }
                    && statements.allSatisfy { $0.contains(" ON olap.") },
                "\(query.name): \(statements)"
            )
            print(
                "olap \(query.name): cost \(Int(response.totalCost)), "
                    + (response.recommendations.first.map {
                        "\($0.createStatement) \(Int($0.costBefore)) -> \(Int($0.costAfter))"
                    } ?? "no recommendation")
            )
        }
        let byName = Dictionary(uniqueKeysWithValues: analyses.map { ($0.query.name, $0.response) })
        let correlated = try #require(byName["Q3"]?.recommendations.first { $0.columns == ["prod_key"] })
        #expect(correlated.table == "sales" && correlated.improvement > 0.9, "\(correlated)")
        #expect(
            byName["Q7"]?.recommendations.first?.createStatement.contains("(c_name text_pattern_ops)") == true,
            "a C.UTF-8 collation: only text_pattern_ops serves LIKE 'Customer 123%': \(byName["Q7"]?.recommendations ?? [])"
        )
        // The latest pending shipments: the key serves the order, INCLUDE (sale_id) lets the index answer alone.
        #expect(
            byName["Q9"]?.recommendations.first.map {
                $0.columns == ["status", "ship_date"] && $0.include == ["sale_id"]
            }
                == true,
            "\(byName["Q9"]?.recommendations ?? [])"
        )
        for name in ["Q8", "Q15"] {
            #expect(byName[name]?.recommendations.isEmpty == true, "\(name): \(byName[name]?.recommendations ?? [])")
        }
        // olap.clients, though public.clients has an index on (organization_id, wedding_date).
        #expect(
            byName["Q22"]?.recommendations.contains {
                $0.table == "clients" && $0.columns == ["organization_id", "wedding_date"]
            } == true,
            "\(byName["Q22"]?.recommendations ?? [])"
        )
    }

    @Test("No recommended index, alone or in a combination, has the leading key columns of an index the table has")
    func noDuplicates() async throws {
        let baseline = try await Self.baseline.value
        let (analyses, existing) = (baseline.analyses, baseline.existing)
        var checked = 0
        for (query, response) in analyses {
            let statements =
                response.recommendations.map(\.createStatement)
                + response.combinations.flatMap(\.createStatements)
            for statement in statements {
                let (table, keys) = try #require(Self.keys(of: statement), "\(statement)")
                checked += 1
                #expect(
                    !(existing[table] ?? []).contains {
                        $0.count >= keys.count && Array($0.prefix(keys.count)) == keys
                    },
                    "\(query.name): \(statement) repeats an existing index's leading columns"
                )
            }
        }
        #expect(checked >= 12)
    }

    @Test(
        "Every recommendation's and combination's costAfter, and every costBefore, reproduce within 1% in a fresh session"
    )
    func costsReproduce() async throws {
        let baseline = try await Self.baseline.value
        for (query, response) in baseline.analyses where !response.recommendations.isEmpty {
            let fresh = try #require(baseline.reproduced.first { $0.query == query.name }).freshBefore
            #expect(abs(fresh - response.totalCost) <= response.totalCost * 0.01, "\(query.name): \(fresh)")
        }
        for item in baseline.reproduced {
            #expect(
                abs(item.freshBefore - item.before) <= item.before * 0.01,
                "\(item.query): \(item.freshBefore) \(item.before)"
            )
            #expect(
                abs(item.freshAfter - item.after) <= item.after * 0.01,
                "\(item.query): \(item.indexes) gave \(item.freshAfter), the optimizer said \(item.after)"
            )
        }
        #expect(baseline.reproduced.count >= 12)
    }

    /// `POST /v1/recommendations/apply` with the admin token.
    static func apply(_ request: ApplyRequest, token: [(String, String)] = GatewayProcess.admin) async throws
        -> HTTP.Answer
    {
        let fixture = try await fixture.value
        return try await HTTP.send(
            .POST,
            fixture.service.baseURL + APIPath.QueryOptimizer.apply,
            headers: token + [("Content-Type", "application/json")],
            body: String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
        )
    }

    /// A job as it stands.
    static func job(_ id: String) async throws -> ApplyJob {
        let fixture = try await fixture.value
        let answer = try await HTTP.send(
            .GET,
            fixture.service.baseURL + APIPath.QueryOptimizer.jobs + "/" + id,
            headers: TestCredentials.asMonitor
        )
        return try WedSyncJSON.makeDecoder().decode(ApplyJob.self, from: answer.data)
    }

    /// The job until it is done or failed.
    static func finished(_ id: String) async throws -> ApplyJob {
        let fixture = try await fixture.value
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(120) {
            let answer = try await HTTP.send(
                .GET,
                fixture.service.baseURL + APIPath.QueryOptimizer.jobs + "/" + id,
                headers: TestCredentials.asMonitor
            )
            let job = try WedSyncJSON.makeDecoder().decode(ApplyJob.self, from: answer.data)
            if job.state == "done" || job.state == "failed" { return job }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw QueryOptimizerFixture.Failure(description: "job \(id) never finished")
    }

    @Test(
        "Apply: the correlated subquery's index built CONCURRENTLY while a writer updates the table throughout, without a writer error; its progress read while it waits on an older snapshot; the query's plan uses it after"
    )
    func applyWhileWriting() async throws {
        // The other tests' figures first: this one builds an index and writes.
        _ = try await Self.baseline.value
        let fixture = try await Self.fixture.value
        let q3 = try fixture.query("Q3")
        // A writer, one short transaction after another, until the build is over: when each update ended.
        let written = UpdateCounter()
        let writing = Task { () -> (ends: [Date], errors: [String]) in
            var ends: [Date] = []
            var errors: [String] = []
            while !Task.isCancelled {
                do {
                    _ = try await fixture.pool.execute(
                        PostgresQuery(
                            sql: "UPDATE olap.sales SET quantity = quantity + 1 WHERE sale_id = $1",
                            binds: [Int64(1 + ends.count % 400_000)]
                        )
                    )
                    ends.append(Date())
                    written.add()
                } catch is CancellationError {
                    break  // the test is over: the update in flight was cancelled, not refused
                } catch {
                    errors.append("\(error)")
                }
            }
            return (ends, errors)
        }
        // A reader's transaction with a snapshot older than the build: the build must wait for it to end, which is
        // the moment its progress is read (no race with a build that may take under a second).
        let reader = PostgresPool(
            name: "reader",
            configuration: try PostgresConfiguration(url: fixture.url),
            logger: Logger(label: "test")
        )
        let job: ApplyJob = try await reader.withConnection { connection in
            try await connection.simpleQuery("BEGIN ISOLATION LEVEL REPEATABLE READ")
            _ = try await connection.query("SELECT count(*) FROM olap.region", prepared: false)
            let answer = try await Self.apply(
                ApplyRequest(
                    schema: "olap",
                    table: "sales",
                    columns: ["prod_key"],
                    statements: [ApplyRequest.Statement(sql: q3)],
                    lockTimeoutMs: 60_000
                )
            )
            #expect(answer.status == 202, "\(answer.text)")
            let submitted = try WedSyncJSON.makeDecoder().decode(ApplyJob.self, from: answer.data)
            #expect(
                submitted.createStatement == "CREATE INDEX CONCURRENTLY idx_sales_prod_key ON olap.sales (prod_key);"
            )
            // Waiting on the reader, as pg_stat_progress_create_index reports it through the job.
            var waiting: ApplyJob?
            let started = ContinuousClock.now
            while waiting == nil, ContinuousClock.now - started < .seconds(60) {
                let current = try await Self.job(submitted.id)
                if current.phase?.contains("waiting for old snapshots") == true { waiting = current }
                try await Task.sleep(for: .milliseconds(20))
            }
            let seen = try #require(waiting, "the build never waited on the reader")
            #expect(seen.state == "building" && (seen.tuplesTotal ?? 0) >= 0)
            // The writer goes on while the build waits: three more updates land before the reader lets it go.
            let before = written.count
            #expect(await eventually(timeout: .seconds(30)) { written.count >= before + 3 }, "writes blocked")
            try await connection.simpleQuery("COMMIT")
            return try await Self.finished(submitted.id)
        }
        await reader.shutdown()
        writing.cancel()
        let (ends, errors) = await writing.value
        let finished = try #require(job.finishedAt)
        let during = ends.filter { $0 >= job.startedAt && $0 <= finished }.count
        print("apply: \(during) updates during the build, phases \(job.phasesSeen)")
        #expect(job.state == "done", "\(job)")
        #expect(errors.isEmpty, "\(errors.prefix(3))")
        #expect(during >= 3, "the writer wrote while the index was built: \(during)")
        #expect(job.phasesSeen.contains { $0.contains("waiting for old snapshots") }, "\(job.phasesSeen)")
        let planned = try #require(job.statements.first)
        #expect(planned.usesIndex == true && (planned.costAfter ?? .infinity) < planned.costBefore / 10, "\(planned)")
        let valid = try await fixture.pool.query(
            "SELECT x.indisvalid FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE i.relname = 'idx_sales_prod_key'"
        )
        #expect(try valid.first?.decode(Bool.self, at: 0) == true)
    }

    @Test(
        "Apply: a failing build (a unique index over duplicate keys) is a failed job with its SQLSTATE and leaves no invalid index; a table the apply role may not own is 403; bad input is 4xx; the monitor token may not apply"
    )
    func applyRefused() async throws {
        _ = try await Self.baseline.value
        let fixture = try await Self.fixture.value
        let answer = try await Self.apply(
            ApplyRequest(schema: "olap", table: "sales", columns: ["cust_key"], unique: true)
        )
        #expect(answer.status == 202, "\(answer.text)")
        let job = try await Self.finished(try WedSyncJSON.makeDecoder().decode(ApplyJob.self, from: answer.data).id)
        #expect(job.state == "failed" && job.sqlState == "23505" && job.invalidIndexDropped == true, "\(job)")
        let invalid = try await fixture.pool.query(
            "SELECT count(*)::bigint FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid WHERE t.relnamespace = 'olap'::regnamespace AND NOT x.indisvalid"
        )
        #expect(try invalid.first?.decode(Int64.self, at: 0) == 0)

        let notGranted = try await Self.apply(ApplyRequest(schema: "public", table: "clients", columns: ["budget"]))
        #expect(notGranted.status == 403 && notGranted.text.contains("apply_not_granted"), "\(notGranted.text)")
        let bad: [(ApplyRequest, Int, String)] = [
            (ApplyRequest(schema: "olap", table: "nope", columns: ["x"]), 404, "no table"),
            (ApplyRequest(schema: "olap", table: "sales", columns: ["nope"]), 400, "unknown_column"),
            (
                ApplyRequest(
                    schema: "olap",
                    table: "sales",
                    columns: ["status"],
                    predicate: "status = 'x'; DROP TABLE olap.sales"
                ), 400, "invalid_predicate"
            ),
            (
                ApplyRequest(schema: "olap", table: "sales", columns: ["status"], predicate: "nope = 1"), 400,
                "invalid_predicate"
            ),
            (
                ApplyRequest(
                    schema: "olap",
                    table: "sales",
                    columns: ["status"],
                    operatorClasses: ["status": "gin_trgm_ops"]
                ), 400, "operatorClasses"
            ),
            (ApplyRequest(schema: "olap", table: "sales", columns: []), 400, "columns"),
        ]
        for (request, status, text) in bad {
            let refused = try await Self.apply(request)
            #expect(
                refused.status == status && refused.text.contains(text),
                "\(request): \(refused.status) \(refused.text)"
            )
        }
        let monitor = try await Self.apply(
            ApplyRequest(schema: "olap", table: "sales", columns: ["status"]),
            token: TestCredentials.asMonitor
        )
        #expect(monitor.status == 403)
        #expect(
            try await HTTP.send(
                .GET,
                fixture.service.baseURL + APIPath.QueryOptimizer.jobs + "/nope",
                headers: TestCredentials.asMonitor
            ).status == 404
        )
    }

    /// `("sales", ["status", "d_key"])` of `CREATE INDEX ... ON olap.sales (status, d_key) INCLUDE (...)`: the
    /// table and its key columns, operator classes left out.
    static func keys(of statement: String) -> (String, [String])? {
        guard let on = statement.range(of: " ON "), let open = statement[on.upperBound...].firstIndex(of: "("),
            let close = statement[open...].firstIndex(of: ")")
        else { return nil }
        let table = statement[on.upperBound..<open].trimmingCharacters(in: .whitespaces).split(separator: ".").last
        let keys = statement[statement.index(after: open)..<close].split(separator: ",").compactMap {
            $0.split(separator: " ").first.map(String.init)
        }
        return table.map { (String($0), keys) }
    }
}

/// Updates a test's writer has made, read by the test while it writes.
final class UpdateCounter: Sendable {
    private let value = Mutex(0)

    var count: Int { value.withLock { $0 } }

    func add() {
        value.withLock { $0 += 1 }
    }
}
