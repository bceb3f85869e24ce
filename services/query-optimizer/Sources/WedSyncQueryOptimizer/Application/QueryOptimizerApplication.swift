import Foundation
import Hummingbird
import Logging
import WedSyncConnectionPool
import WedSyncModels
import WedSyncPostgres
import WedSyncPostgresService
import WedSyncServiceKit

/// The query optimizer on a ``ServiceBuilder``: plan analysis, workload analysis, N+1 detection and index, table
/// and connection health of the configured database (`database.url`), and its findings sent to the metrics service.
public enum QueryOptimizerApplication {
    /// The apply role's pool: one build at a time, and the drop of an invalid index beside it.
    static let applyPool = ConnectionPoolConfiguration(minimumConnections: 0, maximumConnections: 2)

    public static func configure(_ service: ServiceBuilder) throws {
        let settings = try QueryOptimizerSettings(service.configuration)
        let database = try service.postgres(critical: true)
        let runner = ExplainRunner(pool: database.primary, timeout: settings.statementTimeout)
        let advisor = IndexAdvisor(minimumImprovement: settings.minimumImprovement)
        let analyzer = StatementAnalyzer(runner: runner, advisor: advisor, logger: service.logger)
        var workload = WorkloadAdvisor(runner: runner, advisor: advisor, logger: service.logger)
        workload.statements = settings.workloadStatements
        workload.searchPaths = settings.workloadSearchPaths
        let detector = NPlusOneDetector(threshold: settings.nPlusOneThreshold, window: settings.nPlusOneWindow)
        let slow = SlowStatementCapture(
            runner: runner,
            thresholdMs: settings.slowStatementMs,
            searchPaths: settings.workloadSearchPaths,
            logger: service.logger
        )
        let metrics = settings.reportInterval.map { _ in
            service.serviceClient(
                "metrics",
                baseURL: service.configuration.metricsURL,
                critical: false,
                timeout: .seconds(5)
            )
        }
        let reporter = OptimizerReporter(
            runner: runner,
            workload: workload,
            detector: detector,
            connections: ConnectionHealthReader(
                targets: settings.poolTargets,
                longTransaction: settings.longTransaction
            ),
            slow: slow,
            slowQueryMs: settings.slowQueryMs,
            metrics: metrics,
            interval: settings.reportInterval,
            logger: service.logger
        )
        service.addService(reporter)
        // The role indexes are built with, when one is configured: a small pool of its own.
        let applyPool = try settings.applyDatabase.map { configuration in
            let pool = PostgresPool(
                name: "apply",
                configuration: configuration,
                poolConfiguration: Self.applyPool,
                logger: service.logger
            )
            service.addService(pool)
            return pool
        }
        let applier = IndexApplier(runner: runner, pool: applyPool, logger: service.logger)
        QueryOptimizerRoutes(analyzer: analyzer, reporter: reporter, applier: applier).register(service.routes)
    }
}

/// The query optimizer's configuration keys.
///
/// | key | default | meaning |
/// |---|---|---|
/// | `optimizer.statement-timeout-ms` | `10000` | the statement timeout of each statement the optimizer runs (ANALYZE runs the caller's) |
/// | `optimizer.minimum-improvement` | `10` | the share of a statement's cost (percent) an index must save to be recommended, by `/v1/analyze` and the workload alike |
/// | `optimizer.minimum-improvement-cost` | `100` | and the planner cost units it must save at least |
/// | `optimizer.workload.statements` | `50` | the top statements (by total time) planned for workload recommendations |
/// | `optimizer.workload.search-paths` | none | `tenant_b;olap,public`: search paths (`;` between paths, `,` between schemas) to plan a statement under when the role's own finds other tables than it ran on |
/// | `optimizer.n-plus-one.threshold` | `5` | a request running one statement this many times is an N+1 |
/// | `optimizer.n-plus-one.window-seconds` | `900` | how far back requests are kept |
/// | `optimizer.slow-query-ms` | `100` | a statement slower than this on average is a finding |
/// | `optimizer.slow-statement-ms` | `500` | a statement that ran this long once (pg_stat_statements, or the API's query events) gets its plan captured, each report interval |
/// | `optimizer.long-transaction-seconds` | `60` | a transaction open longer is a finding |
/// | `optimizer.pool-targets` | none | `api=http://host:port,...`: services whose pools (`/metrics`) are read |
/// | `optimizer.apply-database-url` | none | the role `POST /v1/recommendations/apply` builds indexes as (`infrastructure/postgres/optimizer-apply-role.sql`); without it, apply is 409 `apply_disabled` |
/// | `optimizer.report-interval-seconds` | `60` | how often findings go to the metrics service (`metrics.url`); 0: never |
struct QueryOptimizerSettings {
    var statementTimeout: Duration
    var minimumImprovement: MinimumImprovement
    var workloadStatements: Int
    var workloadSearchPaths: [[String]]
    var nPlusOneThreshold: Int
    var nPlusOneWindow: Duration
    var slowQueryMs: Double
    var slowStatementMs: Double
    var longTransaction: Duration
    var poolTargets: [ConnectionHealthReader.Target]
    var reportInterval: Duration?
    var applyDatabase: PostgresConfiguration?

    init(_ configuration: ServiceConfiguration) throws(ConfigurationError) {
        let settings = configuration.settings
        statementTimeout = try settings.milliseconds(
            "optimizer.statement-timeout-ms",
            default: .seconds(10),
            in: 10...600_000
        )
        minimumImprovement = MinimumImprovement(
            share: Double(try settings.int("optimizer.minimum-improvement", default: 10, in: 1...99)) / 100,
            cost: Double(try settings.int("optimizer.minimum-improvement-cost", default: 100, in: 0...1_000_000_000))
        )
        workloadStatements = try settings.int("optimizer.workload.statements", default: 50, in: 1...500)
        workloadSearchPaths = try Self.searchPaths(settings.string("optimizer.workload.search-paths") ?? "")
        nPlusOneThreshold = try settings.int("optimizer.n-plus-one.threshold", default: 5, in: 2...10_000)
        nPlusOneWindow = .seconds(
            try settings.int("optimizer.n-plus-one.window-seconds", default: 900, in: 10...86_400)
        )
        slowQueryMs = Double(try settings.int("optimizer.slow-query-ms", default: 100, in: 1...3_600_000))
        slowStatementMs = Double(try settings.int("optimizer.slow-statement-ms", default: 500, in: 1...3_600_000))
        longTransaction = .seconds(try settings.int("optimizer.long-transaction-seconds", default: 60, in: 1...86_400))
        poolTargets =
            try settings.string("optimizer.pool-targets").map { text throws(ConfigurationError) in
                try ScrapeTarget.list(text, key: "optimizer.pool-targets")
            } ?? []
        let interval = try settings.int("optimizer.report-interval-seconds", default: 60, in: 0...86_400)
        reportInterval = interval == 0 ? nil : .seconds(interval)
        applyDatabase = try settings.string("optimizer.apply-database-url").map(Self.applyDatabase)
    }

    /// The apply role's database, named in the pool's sessions; the URL (it may hold a password) is never echoed.
    static func applyDatabase(_ url: String) throws(ConfigurationError) -> PostgresConfiguration {
        do {
            var database = try PostgresConfiguration(url: url)
            database.options["application_name"] = "wedsync-query-optimizer/apply"
            return database
        } catch {
            throw ConfigurationError(key: "optimizer.apply-database-url", message: error.message)
        }
    }

    /// `tenant_b;olap,public` → `[["tenant_b"], ["olap", "public"]]`; each schema a name of 1 to 63 characters.
    static func searchPaths(_ text: String) throws(ConfigurationError) -> [[String]] {
        let key = "optimizer.workload.search-paths"
        var paths: [[String]] = []
        for path in text.split(separator: ";") {
            let schemas = path.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !schemas.isEmpty, schemas.count <= AnalyzeRequest.searchPathLength,
                schemas.allSatisfy({ (try? AnalyzeRequest.schemaRule.check($0, key)) != nil })
            else {
                throw ConfigurationError(
                    key: key,
                    message: "each path is 1 to \(AnalyzeRequest.searchPathLength) schema names, separated by commas"
                )
            }
            paths.append(schemas)
        }
        return paths
    }
}
