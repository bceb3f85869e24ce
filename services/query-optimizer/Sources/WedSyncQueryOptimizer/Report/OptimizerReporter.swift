import Foundation
import Logging
import NIOHTTP1
import ServiceLifecycle
import WedSyncModels
import WedSyncPostgres
import WedSyncServiceKit

/// Makes the whole report of the configured database (workload, N+1s, index, table and connection health) and
/// its findings; as a service, sends the findings' counts to the metrics service on an interval, so alert rules
/// fire on them (`findings{source="query-optimizer",kind,severity}`).
public final class OptimizerReporter: Service, Sendable {
    let runner: ExplainRunner
    let workload: WorkloadAdvisor
    let detector: NPlusOneDetector
    let connections: ConnectionHealthReader
    /// Slow statements' plans, captured each interval.
    public let slow: SlowStatementCapture?
    let indexes = IndexHealthReader()
    let tables = TableHealthReader()
    /// A statement slower than this on average is a `slow_query` finding.
    let slowQuery: Double
    let metrics: ServiceClient?
    let interval: Duration?
    let logger: Logger

    public init(
        runner: ExplainRunner,
        workload: WorkloadAdvisor,
        detector: NPlusOneDetector,
        connections: ConnectionHealthReader,
        slow: SlowStatementCapture? = nil,
        slowQueryMs: Double = 100,
        metrics: ServiceClient?,
        interval: Duration?,
        logger: Logger
    ) {
        self.runner = runner
        self.workload = workload
        self.detector = detector
        self.connections = connections
        self.slow = slow
        self.slowQuery = slowQueryMs
        self.metrics = metrics
        self.interval = interval
        self.logger = logger
    }

    /// Every section, each on its own: a section that fails is named in `errors` and the others still come.
    /// `recommend`: plan the workload for index recommendations (hypothetical indexes on the target database).
    public func report(recommend: Bool = true, now: Date = Date()) async -> OptimizerReport {
        var errors: [String: String] = [:]
        func section<Value: Sendable>(_ name: String, _ body: () async throws -> Value) async -> Value? {
            do {
                return try await body()
            } catch {
                errors[name] = Self.describe(error)
                logger.warning("report section failed", metadata: ["section": "\(name)", "error": "\(error)"])
                return nil
            }
        }
        let workload = await section("workload") { try await self.workload.report(recommend: recommend) }
        let indexes = await section("indexes") { try await indexHealth() }
        let tables = await section("tables") { try await tableHealth() }
        let connections = await section("connections") { try await connectionHealth() }
        var report = OptimizerReport(
            generatedAt: now,
            database: runner.pool.configuration.database,
            findings: [],
            workload: workload,
            nPlusOne: detector.report(now: now),
            indexes: indexes,
            tables: tables,
            connections: connections,
            slowStatements: slow?.statements(),
            errors: errors
        )
        report.findings = findings(of: report)
        return report
    }

    /// Unused, duplicate and redundant indexes (`GET /v1/indexes`).
    public func indexHealth() async throws -> IndexHealthReport {
        let reader = indexes
        return try await runner.transaction { try await reader.read(on: $0) }
    }

    /// Each table's scans, cache use and bloat (`GET /v1/tables`).
    public func tableHealth() async throws -> TableHealthReport {
        let reader = tables
        return try await runner.transaction { try await reader.read(on: $0) }
    }

    /// Connections and pools (`GET /v1/connections`): the services' pools are read first, so no connection is held
    /// while they answer.
    public func connectionHealth() async throws -> ConnectionHealthReport {
        let reader = connections
        let pools = await reader.readPools()
        return try await runner.transaction { try await reader.read(on: $0, pools: pools) }
    }

    /// Every kind a report can find, with its severity and the section it comes from, so a kind that is gone is
    /// reported as 0 and its alert resolves.
    public static let kinds: [(kind: String, severity: String, section: String)] = [
        ("n_plus_one", "warning", "nPlusOne"), ("slow_query", "warning", "workload"),
        ("slow_statement", "warning", "slowStatements"),
        ("workload_index", "warning", "workload"),
        ("unused_index", "info", "indexes"), ("redundant_index", "warning", "indexes"),
        ("sequential_scans_dominate", "warning", "tables"),
        ("bloated_table", "warning", "tables"), ("low_cache_hit_ratio", "warning", "tables"),
        ("lock_waits", "critical", "connections"),
        ("long_transaction", "warning", "connections"), ("pool_bottleneck", "critical", "connections"),
        ("database_bottleneck", "critical", "connections"),
    ]

    /// The report's findings, most severe first.
    public func findings(of report: OptimizerReport) -> [ReportFinding] {
        var found: [ReportFinding] = []
        for pattern in report.nPlusOne.patterns {
            found.append(
                ReportFinding(
                    kind: "n_plus_one",
                    severity: "warning",
                    subject: pattern.route,
                    message:
                        "\(pattern.requests) request(s) ran one statement up to \(pattern.maximumPerRequest) times (\(Self.milliseconds(pattern.meanTimePerRequestMs)) per request): \(pattern.batchedForm)"
                )
            )
        }
        for statement in report.slowStatements?.statements ?? [] {
            let kinds = statement.findings.map(\.kind)
            found.append(
                ReportFinding(
                    kind: "slow_statement",
                    severity: "warning",
                    subject: statement.queryId.map { "query \($0)" } ?? "statement",
                    message:
                        "ran \(Self.milliseconds(statement.maxTimeMs)) at its slowest; its plan "
                        + (statement.plan == nil
                            ? "could not be captured (\(statement.unplannable ?? "unplannable"))"
                            : kinds.isEmpty ? "shows nothing to fix" : "shows \(kinds.joined(separator: ", "))")
                        + ": \(String(statement.query.prefix(200)))"
                )
            )
        }
        if let workload = report.workload {
            for statement in workload.topByMeanTime where statement.meanTimeMs >= slowQuery {
                found.append(
                    ReportFinding(
                        kind: "slow_query",
                        severity: "warning",
                        subject: "query \(statement.queryId)",
                        message:
                            "\(Self.milliseconds(statement.meanTimeMs)) on average over \(statement.calls) calls: \(String(statement.query.prefix(200)))"
                    )
                )
            }
            for recommendation in workload.recommendations {
                found.append(
                    ReportFinding(
                        kind: "workload_index",
                        severity: "warning",
                        subject: recommendation.table,
                        message:
                            "\(recommendation.createStatement) saves about \(Int(saturating: (recommendation.workloadImprovement * 100).rounded()))% of the workload's time, serving \(recommendation.served.count) statement(s)"
                    )
                )
            }
        }
        for index in report.indexes?.unused ?? [] {
            let quoted = IndexAdvisor.Candidate.quoted
            let parts = index.table.split(separator: ".", maxSplits: 1)
            let schema = parts.count == 2 ? String(parts[0]) : "public"
            found.append(
                ReportFinding(
                    kind: "unused_index",
                    severity: "info",
                    subject: index.index,
                    message:
                        "never scanned since the statistics reset; \(Self.bytes(index.sizeBytes)) to keep up on every write: DROP INDEX CONCURRENTLY \(quoted(schema)).\(quoted(index.index)); if no replica reads it"
                )
            )
        }
        for index in report.indexes?.redundant ?? [] {
            found.append(
                ReportFinding(
                    kind: "redundant_index",
                    severity: "warning",
                    subject: index.index,
                    message:
                        "\(index.reason == "duplicate" ? "the same key columns as" : "its columns lead") \(index.coveredBy): \(index.dropStatement)"
                )
            )
        }
        for table in report.tables?.tables ?? [] {
            for kind in table.findings {
                let message: String
                switch kind {
                case "sequential_scans_dominate":
                    message =
                        "\(Int(saturating: (table.sequentialScanShare * 100).rounded()))% of \(table.sequentialScans + table.indexScans) scans read the whole table (\(table.rows) rows): see the workload's recommendations"
                case "bloated":
                    message =
                        "about \(Self.bytes(table.estimatedBloatBytes)) (\(Int(saturating: (table.bloatShare * 100).rounded()))%) is dead space (\(table.deadRows) dead rows): VACUUM it, and tune its autovacuum; pg_repack to give the space back"
                default:
                    message =
                        "only \(Int(saturating: ((table.cacheHitRatio ?? 0) * 100).rounded()))% of its block reads hit shared buffers: more shared_buffers, or less of it read"
                }
                found.append(
                    ReportFinding(
                        kind: kind == "bloated" ? "bloated_table" : kind,
                        severity: "warning",
                        subject: table.table,
                        message: message
                    )
                )
            }
        }
        if let connections = report.connections {
            if !connections.waiting.isEmpty {
                found.append(
                    ReportFinding(
                        kind: "lock_waits",
                        severity: "critical",
                        subject: "database",
                        message: "\(connections.waiting.count) session(s) wait on locks"
                    )
                )
            }
            for session in connections.longTransactions {
                found.append(
                    ReportFinding(
                        kind: "long_transaction",
                        severity: "warning",
                        subject: "pid \(session.pid)",
                        message:
                            "a transaction open \(Int(saturating: session.transactionSeconds ?? 0)) s (\(session.state)): \(String(session.query.prefix(200)))"
                    )
                )
            }
            switch connections.verdict.bottleneck {
            case "pool":
                found.append(
                    ReportFinding(
                        kind: "pool_bottleneck",
                        severity: "critical",
                        subject: "pools",
                        message: connections.verdict.reasons.joined(separator: "; ")
                    )
                )
            case "database":
                found.append(
                    ReportFinding(
                        kind: "database_bottleneck",
                        severity: "critical",
                        subject: "database",
                        message: connections.verdict.reasons.joined(separator: "; ")
                    )
                )
            default: break
            }
        }
        func rank(_ finding: ReportFinding) -> Int {
            [AlertSeverity.critical, .warning, .info].firstIndex { $0.rawValue == finding.severity } ?? 3
        }
        return found.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(
            \.element
        )
    }

    /// One event per kind: how many findings of it the report has (0 for those it has none of). Kinds of a
    /// section that failed are left out: not knowing is no reason for their alerts to resolve.
    /// `unknown` kinds were not looked for (workload recommendations in the periodic report) and are left out too.
    public static func events(
        of findings: [ReportFinding],
        failed sections: Set<String> = [],
        unknown: Set<String> = [],
        at date: Date
    ) -> [MetricEvent] {
        kinds.filter { !sections.contains($0.section) && !unknown.contains($0.kind) }.map { kind, severity, _ in
            .finding(
                FindingEvent(
                    timestamp: date,
                    source: "query-optimizer",
                    kind: kind,
                    severity: severity,
                    count: findings.count { $0.kind == kind }
                )
            )
        }
    }

    /// Every interval: captures slow statements' plans, then sends the findings' counts (when there is a metrics
    /// service), from a report without workload planning (cheap on the database).
    public func run() async throws {
        guard let interval, slow != nil || metrics != nil else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.captureSlowStatements()
                if let metrics = self.metrics { await self.publish(to: metrics) }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One pass of the slow-statement capture; a failure is logged and the next interval tries again.
    public func captureSlowStatements() async {
        guard let slow else { return }
        do {
            try await slow.capture()
        } catch {
            logger.warning("slow statements not captured", metadata: ["error": "\(error)"])
        }
    }

    /// One report's findings, counted per kind, to the metrics service.
    public func publish(to metrics: ServiceClient) async {
        let report = await report(recommend: false)
        guard !Task.isCancelled else { return }
        do {
            _ = try await metrics.send(
                .POST,
                APIPath.Metrics.events,
                json: MetricEventBatch(
                    events: Self.events(
                        of: report.findings,
                        failed: Set(report.errors.keys),
                        unknown: ["workload_index"],
                        at: report.generatedAt
                    )
                )
            )
        } catch {
            logger.warning("findings not sent to the metrics service", metadata: ["error": "\(error)"])
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? StatementStatistics.Unavailable { return error.description }
        if let error = error as? PostgresError { return String(error.message.prefix(300)) }
        return String(String(describing: error).prefix(300))
    }

    static func milliseconds(_ value: Double) -> String {
        guard value.isFinite, value < 1e12 else { return "a very long time" }
        return value >= 100
            ? "\(Int(saturating: value.rounded())) ms" : "\(Double(Int(saturating: value * 10)) / 10) ms"
    }

    static func bytes(_ value: Int) -> String {
        value >= 1 << 30
            ? "\(value >> 30) GB"
            : value >= 1 << 20 ? "\(value >> 20) MB" : value >= 1 << 10 ? "\(value >> 10) kB" : "\(value) B"
    }
}
