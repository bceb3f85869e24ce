import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import WedSyncModels
import WedSyncServiceKit

/// The optimizer's routes: `POST /v1/analyze`, `POST /v1/query-events`, `POST /v1/recommendations/apply` and its
/// jobs, and the reports (`/v1/workload`, `/v1/n-plus-one`, `/v1/slow-statements`, `/v1/indexes`, `/v1/tables`,
/// `/v1/connections`, `/v1/report`). Running a statement or building an index takes the admin token; the reports
/// take the monitor token: plans, statements and schema are not for everyone.
struct QueryOptimizerRoutes {
    let analyzer: StatementAnalyzer
    let reporter: OptimizerReporter
    let applier: IndexApplier

    func register(_ routes: ServiceRoutes) {
        let analyzer = self.analyzer
        let reporter = self.reporter
        let applier = self.applier
        let detector = reporter.detector
        let workload = reporter.workload
        routes.post(
            APIPath.QueryOptimizer.analyze,
            RouteSpec(
                summary:
                    "Explain a statement on the target database: the plan, findings, and index recommendations proven with hypopg",
                description:
                    "Runs `EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON)` (or plain `EXPLAIN` with `analyze` false) inside a transaction "
                    + "that is always rolled back, read-only, under a statement timeout. It runs any query on the target database, so it takes the "
                    + "admin token; a statement that writes is refused (403 `write_refused`) unless `allowWrite` is set as well. A statement "
                    + "calling a function that acts beyond the transaction (signals, files, configuration, dblink) is refused (400 "
                    + "`function_refused`); the optimizer's database role could not do most of it anyway. Errors give the SQLSTATE, never the "
                    + "values involved. `timeoutMs` shortens the statement timeout for this statement; `searchPath` "
                    + "sets the schemas its unqualified names are found in (the catalog, the findings and the recommended indexes follow "
                    + "the schema each table was found in).",
                tags: ["analysis"],
                access: .admin,
                requestBody: .of(AnalyzeRequest.self),
                response: .of(AnalyzeResponse.self)
            )
        ) { request, context in
            let body = try await request.decodeJSON(AnalyzeRequest.self, context: context)
            let sql = try AnalyzeRequest.sqlRule.check(body.sql, "sql").trimmingCharacters(in: .whitespacesAndNewlines)
            guard (body.params ?? []).count <= 1_000 else {
                throw ServiceError.badRequest("params: at most 1,000", code: "invalid_body")
            }
            guard (body.params ?? []).allSatisfy(\.isScalar) else {
                throw ServiceError.badRequest(
                    "params: each is a string, a number, a boolean or null",
                    code: "invalid_body"
                )
            }
            for case .string(let text) in body.params ?? [] { try AnalyzeRequest.parameterRule.check(text, "params") }
            if body.allowWrite != true, !ExplainRunner.isReadOnly(sql) {
                throw ServiceError(
                    .forbidden,
                    code: "write_refused",
                    message: "only SELECT is explained without allowWrite and the admin token"
                )
            }
            if let function = ExplainRunner.refusedFunction(in: sql) {
                throw ServiceError.badRequest(
                    "sql: \(function)() is not explained here: it acts beyond the rolled-back transaction",
                    code: "function_refused"
                )
            }
            if let timeout = body.timeoutMs, !(timeout.isFinite && timeout >= 1 && timeout <= 3_600_000) {
                throw ServiceError.badRequest("timeoutMs: 1 to 3600000 milliseconds", code: "invalid_body")
            }
            if let path = body.searchPath {
                guard path.count <= AnalyzeRequest.searchPathLength else {
                    throw ServiceError.badRequest(
                        "searchPath: at most \(AnalyzeRequest.searchPathLength) schemas",
                        code: "invalid_body"
                    )
                }
                for schema in path { _ = try AnalyzeRequest.schemaRule.check(schema, "searchPath") }
            }
            var checked = body
            checked.sql = sql.hasSuffix(";") ? String(sql.dropLast()) : sql
            return try await analyzer.analyze(checked)
        }

        routes.post(
            APIPath.QueryOptimizer.apply,
            RouteSpec(
                summary:
                    "Build a recommended index: CREATE INDEX CONCURRENTLY, its progress watched, the statements planned after",
                description:
                    "The index is described by its parts (schema, table, key columns with operator classes, INCLUDE columns, a "
                    + "predicate of `column = constant` terms), each checked against the catalog, never sent as DDL. It is built "
                    + "CONCURRENTLY (writers go on) under `lockTimeoutMs` (5000) and `statementTimeoutMs`, as the role of "
                    + "`optimizer.apply-database-url` taking the table owner's role for the build alone (409 `apply_disabled` "
                    + "without one, 403 `apply_not_granted` for a table whose owner it may not become). A failed build's invalid "
                    + "index is dropped. Answers 202 with the job: `GET /v1/jobs/{id}` gives its phase from "
                    + "`pg_stat_progress_create_index` and, when done, each given statement's cost before and after and whether "
                    + "its plan uses the index.",
                tags: ["analysis"],
                access: .admin,
                requestBody: .of(ApplyRequest.self),
                response: .of(ApplyJob.self),
                successStatus: 202
            )
        ) { request, context in
            let body = try await request.decodeJSON(ApplyRequest.self, context: context)
            return try await applier.submit(body)
        }

        routes.get(
            "\(APIPath.QueryOptimizer.jobs)/{id}",
            RouteSpec(
                summary: "An index build's progress and outcome",
                tags: ["analysis"],
                access: .monitor,
                response: .of(ApplyJob.self)
            )
        ) { _, context in
            guard let job = applier.job(context.parameters.get("id") ?? "") else {
                throw ServiceError.notFound("no such job")
            }
            return job
        }

        routes.post(
            APIPath.QueryOptimizer.queryEvents,
            RouteSpec(
                summary:
                    "Take the statements requests ran (the API's query events), for N+1 detection and slow statements",
                description:
                    "The body of the metrics service's `POST /v1/events`; `db_query` events with a `requestId` are kept for N+1 "
                    + "detection, and those slower than `optimizer.slow-statement-ms` are planned at the next report interval.",
                tags: ["n-plus-one"],
                access: .service("wedsync-api"),
                requestBody: .of(MetricEventBatch.self),
                response: .of(EventsAccepted.self)
            )
        ) { request, context in
            let batch = try await request.decodeJSON(MetricEventBatch.self, context: context)
            guard (1...MetricEventBounds.maximumEvents).contains(batch.events.count) else {
                throw ServiceError.badRequest(
                    "events: 1 to \(MetricEventBounds.maximumEvents) a batch",
                    code: "invalid_body"
                )
            }
            if let problem = NPlusOneDetector.problem(in: batch.events) {
                throw ServiceError.badRequest(problem, code: "invalid_body")
            }
            detector.record(batch.events)
            reporter.slow?.record(batch.events)
            return EventsAccepted(accepted: batch.events.count)
        }

        routes.get(
            APIPath.QueryOptimizer.slowStatements,
            RouteSpec(
                summary:
                    "Statements that ran slower than optimizer.slow-statement-ms, each with its captured plan and findings",
                description:
                    "From `pg_stat_statements` (a statement's slowest run) and the API's query events, checked every report interval "
                    + "(`optimizer.report-interval-seconds`): each new one is planned generically (`EXPLAIN (VERBOSE)` of the statement "
                    + "prepared, in a rolled-back transaction) once, and kept by its query identifier, slowest first, 200 at most; an event is "
                    + "matched to pg_stat_statements by its text, never planned itself. Texts have "
                    + "their constants folded to `?`.",
                tags: ["workload"],
                access: .monitor,
                response: .of(SlowStatementsReport.self)
            )
        ) { _, _ in
            guard let slow = reporter.slow else {
                return SlowStatementsReport(thresholdMs: 0, statements: [])
            }
            return slow.statements()
        }

        routes.get(
            APIPath.QueryOptimizer.nPlusOne,
            RouteSpec(
                summary: "Requests that ran one statement the threshold's times or more, by route and statement",
                tags: ["n-plus-one"],
                access: .monitor,
                response: .of(NPlusOneReport.self)
            )
        ) { _, _ in
            detector.report()
        }

        routes.get(
            APIPath.QueryOptimizer.workload,
            RouteSpec(
                summary: "The top statements of pg_stat_statements and index recommendations across the workload",
                description:
                    "Each of the top statements by total time is planned generically with hypothetical indexes (hypopg) in a rolled-back "
                    + "transaction; indexes are chosen greedily by the share of the workload's time they save.",
                tags: ["workload"],
                access: .monitor,
                queryParameters: [
                    QueryParameter(
                        "top",
                        schema: .integer(minimum: 1, maximum: 100),
                        description: "statements in each top list (default 10)"
                    ),
                    QueryParameter(
                        "recommend",
                        schema: .boolean,
                        description: "plan the workload for recommendations (default true)"
                    ),
                ],
                response: .of(WorkloadReport.self)
            )
        ) { request, _ in
            let top = try request.integerQuery("top", in: 1...100) ?? 10
            let recommend = try request.booleanQuery("recommend", default: true)
            do {
                return try await workload.report(top: top, recommend: recommend)
            } catch let error as StatementStatistics.Unavailable {
                throw ServiceError(.conflict, code: "extension_missing", message: error.description)
            }
        }

        routes.get(
            APIPath.QueryOptimizer.indexes,
            RouteSpec(
                summary: "Unused, duplicate and redundant indexes, and the index cache hit ratio",
                tags: ["health"],
                access: .monitor,
                response: .of(IndexHealthReport.self)
            )
        ) { _, _ in
            try await reporter.indexHealth()
        }

        routes.get(
            APIPath.QueryOptimizer.tables,
            RouteSpec(
                summary: "Each table's scans, cache hit ratio and estimated bloat",
                tags: ["health"],
                access: .monitor,
                response: .of(TableHealthReport.self)
            )
        ) { _, _ in
            try await reporter.tableHealth()
        }

        routes.get(
            APIPath.QueryOptimizer.connections,
            RouteSpec(
                summary:
                    "Connections by state, lock waits, long transactions, the services' pools, and whether the pool is the bottleneck",
                tags: ["health"],
                access: .monitor,
                response: .of(ConnectionHealthReport.self)
            )
        ) { _, _ in
            try await reporter.connectionHealth()
        }

        routes.add(
            .get,
            APIPath.QueryOptimizer.report,
            RouteSpec(
                summary:
                    "Everything above for the configured database, with its findings: JSON, or a page with format=html (or Accept: text/html)",
                tags: ["report"],
                access: .monitor,
                queryParameters: [
                    QueryParameter(
                        "format",
                        schema: .string(enumeration: ["json", "html"]),
                        description: "json (default) or html"
                    ),
                    QueryParameter(
                        "recommend",
                        schema: .boolean,
                        description: "plan the workload for recommendations (default true)"
                    ),
                ],
                response: .of(OptimizerReport.self),
                otherResponses: [ResponseContent("text/html")]
            )
        ) { request, _ in
            let format = request.uri.queryParameters.get("format").map { String($0) }
            guard format == nil || format == "json" || format == "html" else {
                throw ServiceError.badRequest("format: json or html", code: "invalid_parameter")
            }
            let html = format == "html" || (format == nil && (request.headers[.accept] ?? "").contains("text/html"))
            let report = await reporter.report(recommend: try request.booleanQuery("recommend", default: true))
            guard html else { return Response.json(report) }
            let page = ByteBuffer(string: ReportPage.render(report))
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                    .contentLength: String(page.readableBytes),
                    .contentSecurityPolicy: ReportPage.contentSecurityPolicy,
                ],
                body: .init(byteBuffer: page)
            )
        }
    }
}
