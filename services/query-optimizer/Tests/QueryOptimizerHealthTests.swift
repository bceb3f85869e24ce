import Foundation
import Logging
import Testing
import WedSyncModels
import WedSyncPostgres
import WedSyncServiceKit
import WedSyncTestSupport

@testable import WedSyncQueryOptimizer

/// The logic above the database: fingerprints, N+1 detection, redundant indexes, bloat, the bottleneck verdict,
/// pool figures from `/metrics`, and the findings sent as events.
@Suite("Query optimizer: N+1, index and table health, verdicts")
struct QueryOptimizerHealthTests {
    @Test("Fingerprints fold constants and keep parameters; the batched form turns the first `= $n` into `= ANY($n)`")
    func fingerprints() {
        #expect(
            StatementFingerprint.normalize("SELECT *  FROM guests\n WHERE name = 'O''Brien' AND id = 42 -- ann")
                == "SELECT * FROM guests WHERE name = ? AND id = ?"
        )
        // Comment markers inside strings, quotes inside comments, escape strings and dollar quotes: no text leaks.
        let tricky =
            "SELECT count(*) FROM g WHERE a = '--x'\nAND name = 'Ann Smith' /* it's */ AND b = E'O\\'Brien' AND c = $$Ann$$ AND d = $q$x$q$ AND e::text = $1"
        #expect(
            StatementFingerprint.normalize(tricky)
                == "SELECT count(*) FROM g WHERE a = ? AND name = ? AND b = ? AND c = ? AND d = ? AND e::text = $1"
        )
        #expect(StatementFingerprint.firstKeyword("/* deploy */ (ALTER ROLE app PASSWORD 'x')") == "alter")
        #expect(
            StatementFingerprint.normalize(
                "/* a /* nested 'x' */ still */ SELECT 1e-5, a$b, -2.5 FROM \"Weird\"\"Name\" WHERE x = 'never closed"
            ) == #"SELECT ?, a$b, - ? FROM "Weird""Name" WHERE x = ?"#
        )
        #expect(StatementFingerprint.normalize("SELECT $tag$ Ann's $$ $tag$, $1 FROM t") == "SELECT ?, $1 FROM t")
        #expect(
            SQLLexer.tokens("a::text >= b != c") == [
                .identifier("a"), .symbol("::"), .identifier("text"), .symbol(">="), .identifier("b"), .symbol("<>"),
                .identifier("c"),
            ]
        )
        #expect(StatementFingerprint.firstKeyword("-- a\n  ( SELECT 1)") == "select")
        #expect(
            StatementFingerprint.normalize("SELECT g.id, t2.x FROM t2 WHERE a = $1 AND b IN (1, 2.5)")
                == "SELECT g.id, t2.x FROM t2 WHERE a = $1 AND b IN (?, ?)"
        )
        #expect(
            StatementFingerprint.batchedForm(of: "SELECT * FROM guests g WHERE g.wedding_id = $1").hasPrefix(
                "SELECT * FROM guests g WHERE g.wedding_id = ANY($1)"
            )
        )
        #expect(
            StatementFingerprint.batchedForm(of: "SELECT * FROM notes WHERE client_id = $1 ORDER BY id LIMIT $2")
                .contains("LATERAL")
        )
        #expect(StatementFingerprint.batchedForm(of: "INSERT INTO notes (a, b) VALUES ($1, $2)").contains("unnest"))
    }

    @Test("N+1: the threshold, requests reported in pieces, the window, and the bound on requests")
    func detector() {
        let detector = NPlusOneDetector(threshold: 5, window: .seconds(60), maximumRequests: 100)
        let now = Date()
        func event(_ sql: String, _ request: String?, at date: Date = now) -> MetricEvent {
            .databaseQuery(
                DatabaseQueryEvent(
                    timestamp: date,
                    fingerprint: sql,
                    durationMs: 1.5,
                    rows: 1,
                    requestId: request,
                    route: "/r"
                )
            )
        }
        detector.record((0..<4).map { _ in event("SELECT 1 FROM a WHERE id = $1", "one") })
        #expect(detector.report(now: now).patterns.isEmpty, "4 is below the threshold")
        detector.record([event("SELECT 1 FROM a WHERE id = $1", "one")])
        let report = detector.report(now: now)
        #expect(report.patterns.count == 1 && report.patterns[0].executions == 5 && report.requestsFlagged == 1)
        #expect(abs(report.patterns[0].totalTimeMs - 7.5) < 1e-9)
        detector.record((0..<9).map { _ in event("SELECT 1 FROM a WHERE id = $1", nil) })
        #expect(detector.report(now: now).requestsSeen == 1, "no request id: not attributable")
        #expect(detector.report(now: now.addingTimeInterval(61)).patterns.isEmpty, "out of the window")
        for index in 0..<200 {
            detector.record([event("SELECT 2", "r\(index)", at: now.addingTimeInterval(Double(index)))])
        }
        #expect(detector.report(now: now.addingTimeInterval(200)).requestsSeen <= 110, "bounded")
    }

    @Test(
        "Redundant indexes: duplicates keep the constraint's, prefixes are redundant unless unique; partial and expression ones apart"
    )
    func redundant() {
        typealias D = IndexHealthReader.Definition
        let found = IndexHealthReader.redundant([
            D(table: "t", name: "t_pkey", keys: [1], isUnique: true, enforcesConstraint: true),
            D(table: "t", name: "a_copy_of_pkey", keys: [1]),
            D(table: "t", name: "t_b", keys: [2]),
            D(table: "t", name: "t_b_c", keys: [2, 3]),
            D(table: "t", name: "t_b_unique", keys: [2], predicate: "(d > 0)", isUnique: true),
            D(table: "t", name: "t_c_partial", keys: [3], predicate: "(d > 0)"),
            D(table: "t", name: "t_c_d", keys: [3, 4]),
            D(table: "t", name: "t_lower", keys: [0], expressions: "lower(e)"),
            D(table: "t", name: "t_lower_again", keys: [0], expressions: "lower(e)"),
            D(table: "u", name: "u_b", keys: [2]),
        ])
        let byName = Dictionary(uniqueKeysWithValues: found.map { ($0.index, $0) })
        #expect(byName["a_copy_of_pkey"]?.coveredBy == "t_pkey" && byName["a_copy_of_pkey"]?.reason == "duplicate")
        #expect(byName["t_b"]?.coveredBy == "t_b_c" && byName["t_b"]?.reason == "prefix")
        #expect(byName["t_lower_again"]?.coveredBy == "t_lower")
        #expect(
            byName["t_pkey"] == nil && byName["t_b_c"] == nil && byName["t_b_unique"] == nil && byName["u_b"] == nil
        )
        #expect(
            byName["t_c_partial"] == nil,
            "a partial index answers only for its predicate: not covered by a full one here"
        )
        #expect(found.count == 3, "\(found)")
        #expect(byName["a_copy_of_pkey"]?.dropStatement == "DROP INDEX CONCURRENTLY public.a_copy_of_pkey;")
        // The same column under another operator class or order, or another schema's table of the same name: not the same index.
        let apart = IndexHealthReader.redundant([
            D(table: "n", name: "n_text", keys: [2], keyDetails: ["3126/100/0"]),
            D(table: "n", name: "n_pattern", keys: [2], keyDetails: ["4217/100/0"]),
            D(table: "n", name: "n_desc", keys: [3, 1], keyDetails: ["3128/0/3", "3124/0/0"]),
            D(table: "n", name: "n_asc", keys: [3], keyDetails: ["3128/0/0"]),
            D(schema: "tenant_a", table: "notes", name: "a_idx", keys: [3]),
            D(schema: "tenant_b", table: "notes", name: "b_idx", keys: [3]),
        ])
        #expect(apart.isEmpty, "\(apart)")
    }

    @Test("Bloat from the rows' widths against the pages; findings on scans, bloat and cache")
    func tables() {
        let reader = TableHealthReader()
        func figures(live: Int, pages: Int, sequential: Int = 0, index: Int = 0, hits: Int = 0, reads: Int = 0)
            -> TableHealthReader.Figures
        {
            TableHealthReader.Figures(
                table: "t",
                liveRows: live,
                deadRows: 0,
                pages: pages,
                blockSize: 8192,
                rowWidth: 44,
                fillFactor: 100,
                sequentialScans: sequential,
                indexScans: index,
                rowsReadSequentially: 0,
                heapHits: hits,
                heapReads: reads,
                lastVacuum: nil
            )
        }
        // 1,000,000 rows of 44 bytes: 76 bytes each with header and pointer, 9,305 pages.
        let tight = reader.health(figures(live: 1_000_000, pages: 9_706))
        #expect(tight.bloatShare < 0.05 && tight.findings.isEmpty, "\(tight)")
        let bloated = reader.health(figures(live: 300_000, pages: 9_706))
        #expect(abs(bloated.bloatShare - (1 - 2_792.0 / 9_706)) < 0.01 && bloated.findings == ["bloated"], "\(bloated)")
        let scanned = reader.health(
            figures(live: 1_000_000, pages: 9_706, sequential: 8, index: 2, hits: 800, reads: 400)
        )
        #expect(
            scanned.findings == ["sequential_scans_dominate", "low_cache_hit_ratio"]
                && abs(scanned.sequentialScanShare - 0.8) < 1e-9
        )
        #expect(
            reader.health(figures(live: 500, pages: 9, sequential: 100)).findings.isEmpty,
            "a small table is read whole by design"
        )
    }

    @Test(
        "The verdict: a saturated pool with a database to spare, a database short of connections or waiting on locks, or neither"
    )
    func verdict() {
        let reader = ConnectionHealthReader()
        func pool(inUse: Double, waiting: Double) -> ServicePoolHealth {
            ServicePoolHealth(
                service: "api",
                pool: "primary",
                up: true,
                inUse: inUse,
                idle: 10 - inUse,
                maximum: 10,
                waiting: waiting,
                acquireTimeouts: 0,
                acquireP99Ms: 1
            )
        }
        let lock = DatabaseSession(
            pid: 1,
            state: "active",
            applicationName: "",
            transactionSeconds: 2,
            waitEventType: "Lock",
            waitEvent: "tuple",
            query: "?"
        )
        #expect(
            reader.verdict(
                maxConnections: 100,
                connections: 12,
                waiting: [],
                long: [],
                pools: [pool(inUse: 10, waiting: 4)]
            ).bottleneck == "pool"
        )
        #expect(
            reader.verdict(
                maxConnections: 100,
                connections: 12,
                waiting: [lock],
                long: [],
                pools: [pool(inUse: 10, waiting: 4)]
            ).bottleneck == "database"
        )
        #expect(
            reader.verdict(
                maxConnections: 100,
                connections: 95,
                waiting: [],
                long: [],
                pools: [pool(inUse: 3, waiting: 0)]
            ).bottleneck == "database"
        )
        #expect(
            reader.verdict(
                maxConnections: 100,
                connections: 12,
                waiting: [],
                long: [],
                pools: [pool(inUse: 3, waiting: 0)]
            ).bottleneck == "none"
        )
    }

    @Test("Pool figures from a service's /metrics")
    func pools() {
        let text = """
            # TYPE connection_pool_connections gauge
            connection_pool_connections{pool="primary",state="in_use"} 7
            connection_pool_connections{pool="primary",state="idle"} 3
            connection_pool_max_connections{pool="primary"} 10
            connection_pool_waiting{pool="primary"} 2
            connection_pool_acquire_timeouts_total{pool="primary"} 5
            connection_pool_acquire_p99_seconds{pool="primary"} 0.25
            connection_pool_max_connections{pool="redis"} 16
            http_requests_total 9
            """
        let pools = PrometheusText.pools(in: text)
        #expect(pools.map(\.pool) == ["primary", "redis"])
        #expect(
            pools[0].inUse == 7 && pools[0].idle == 3 && pools[0].waiting == 2 && pools[0].acquireTimeouts == 5
                && pools[0].acquireP99Seconds == 0.25
        )
        #expect(pools[0].utilisation == 0.7 && pools[1].utilisation == 0)
    }

    @Test("Every finding kind is sent, those without findings as 0, so their alerts resolve")
    func events() {
        let findings = [
            ReportFinding(kind: "n_plus_one", severity: "warning", subject: "/r", message: "m"),
            ReportFinding(kind: "n_plus_one", severity: "warning", subject: "/s", message: "m"),
        ]
        let events = OptimizerReporter.events(of: findings, at: Date())
        #expect(events.count == OptimizerReporter.kinds.count)
        let partial = OptimizerReporter.events(of: findings, failed: ["connections"], at: Date())
        #expect(partial.count == OptimizerReporter.kinds.count - 4, "a failed section's kinds are not reported as 0")
        let periodic = OptimizerReporter.events(of: findings, unknown: ["workload_index"], at: Date())
        #expect(
            periodic.count == OptimizerReporter.kinds.count - 1,
            "workload indexes not looked for are not reported as 0"
        )
        let counts = events.compactMap { event -> (String, Int)? in
            guard case .finding(let finding) = event else { return nil }
            return (finding.kind, finding.count)
        }
        #expect(
            counts.first { $0.0 == "n_plus_one" }?.1 == 2
                && counts.filter { $0.0 != "n_plus_one" }.allSatisfy { $0.1 == 0 }
        )
    }

    @Test(
        "A report's sections become findings, most severe first: slow statements, workload indexes, long transactions, the verdict"
    )
    func findings() throws {
        let slow = WorkloadStatement(
            queryId: "7",
            query: "SELECT ?",
            calls: 3,
            totalTimeMs: 900,
            meanTimeMs: 300,
            rows: 1,
            shareOfTotalTime: 1,
            cacheHitRatio: 1
        )
        let quick = WorkloadStatement(
            queryId: "8",
            query: "SELECT ?",
            calls: 3,
            totalTimeMs: 3,
            meanTimeMs: 1,
            rows: 1,
            shareOfTotalTime: 0,
            cacheHitRatio: 1
        )
        let index = WorkloadRecommendation(
            table: "clients",
            columns: ["organization_id"],
            predicate: nil,
            workloadImprovement: 0.4,
            estimatedSizeBytes: 1,
            createStatement: "CREATE INDEX ...;",
            served: [.init(queryId: "7", costBefore: 100, costAfter: 1)]
        )
        let long = DatabaseSession(
            pid: 42,
            state: "idle in transaction",
            applicationName: "",
            transactionSeconds: 90,
            waitEventType: nil,
            waitEvent: nil,
            query: "UPDATE ?"
        )
        let pool = ServicePoolHealth(
            service: "api",
            pool: "primary",
            up: true,
            inUse: 10,
            idle: 0,
            maximum: 10,
            waiting: 3,
            acquireTimeouts: 0,
            acquireP99Ms: 1
        )
        let report = OptimizerReport(
            generatedAt: Date(),
            database: "d",
            findings: [],
            workload: WorkloadReport(
                statements: 2,
                totalTimeMs: 903,
                topByTotalTime: [slow, quick],
                topByMeanTime: [slow, quick],
                topByCalls: [slow, quick],
                planned: 2,
                unplannable: 0,
                recommendations: [index]
            ),
            nPlusOne: NPlusOneReport(
                threshold: 5,
                windowSeconds: 900,
                requestsSeen: 0,
                requestsFlagged: 0,
                patterns: []
            ),
            indexes: nil,
            tables: nil,
            connections: ConnectionHealthReport(
                maxConnections: 100,
                connections: 12,
                byState: ["idle in transaction": 1],
                waiting: [],
                longTransactions: [long],
                pools: [pool],
                verdict: ConnectionHealthReader().verdict(
                    maxConnections: 100,
                    connections: 12,
                    waiting: [],
                    long: [],
                    pools: [pool]
                )
            ),
            errors: [:]
        )
        let reporter = OptimizerReporter(
            runner: ExplainRunner(
                pool: PostgresPool(
                    name: "unused",
                    configuration: try PostgresConfiguration(url: "postgres://u@127.0.0.1:9/d"),
                    logger: Logger(label: "test")
                )
            ),
            workload: WorkloadAdvisor(
                runner: ExplainRunner(
                    pool: PostgresPool(
                        name: "unused",
                        configuration: try PostgresConfiguration(url: "postgres://u@127.0.0.1:9/d"),
                        logger: Logger(label: "test")
                    )
                ),
                advisor: IndexAdvisor(),
                logger: Logger(label: "test")
            ),
            detector: NPlusOneDetector(),
            connections: ConnectionHealthReader(),
            slowQueryMs: 100,
            metrics: nil,
            interval: nil,
            logger: Logger(label: "test")
        )
        let found = reporter.findings(of: report)
        #expect(
            found.map(\.kind) == ["pool_bottleneck", "slow_query", "workload_index", "long_transaction"],
            "\(found)"
        )
        #expect(found[1].subject == "query 7" && found[2].message.contains("40%") && found[3].subject == "pid 42")
    }
}
