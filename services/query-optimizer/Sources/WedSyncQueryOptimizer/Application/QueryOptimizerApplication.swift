import Foundation
import Hummingbird
import Logging
import WedSyncModels
import WedSyncPostgres
import WedSyncServiceKit

/// The query optimizer on a ``ServiceBuilder``: `POST /v1/analyze` on the configured database (`database.url`).
public enum QueryOptimizerApplication {
    public static func configure(_ service: ServiceBuilder) throws {
        let settings = try QueryOptimizerSettings(service.configuration)
        let database = try service.postgres(critical: true)
        let analyzer = StatementAnalyzer(
            runner: ExplainRunner(pool: database.primary, timeout: settings.statementTimeout), advisor: IndexAdvisor(minimumImprovement: settings.minimumImprovement),
            logger: service.logger
        )
        QueryOptimizerRoutes(analyzer: analyzer).register(service.routes)
    }
}

/// The query optimizer's configuration keys.
///
/// | key | default | meaning |
/// |---|---|---|
/// | `optimizer.statement-timeout-ms` | `10000` | the statement timeout of each EXPLAIN (ANALYZE runs the statement) |
/// | `optimizer.minimum-improvement` | `50` | the share of the planner's cost (percent) an index must save to be recommended |
struct QueryOptimizerSettings {
    var statementTimeout: Duration
    var minimumImprovement: Double

    init(_ configuration: ServiceConfiguration) throws(ConfigurationError) {
        let settings = configuration.settings
        statementTimeout = try settings.milliseconds("optimizer.statement-timeout-ms", default: .seconds(10), in: 10...600_000)
        minimumImprovement = Double(try settings.int("optimizer.minimum-improvement", default: 50, in: 1...99)) / 100
    }
}
