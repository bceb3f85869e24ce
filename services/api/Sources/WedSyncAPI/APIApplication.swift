import Logging
import WedSyncModels
import WedSyncPostgres
import WedSyncPostgresService
import WedSyncServiceKit

/// The WedSync API on a ``ServiceBuilder``: its schema migrated, its background work registered, its routes added.
///
/// Keys of its own (beside the common ones):
/// | key | default | meaning |
/// |---|---|---|
/// | `api.migrate-on-start` | `true` | apply pending migrations before serving |
/// | `api.dashboard-refresh-ms` | `60000` | how often the dashboard's materialized view is refreshed |
/// | `api.query-events` | `true` | report each request's statements to the metrics service (`metrics.url`) and the query optimizer (`optimizer.url`, for N+1 detection) |
/// | `api.token-cache-ms` | `30000` | how long a token lookup is trusted |
public enum APIApplication {
    /// Everything the API registered, for tests and commands.
    public struct Components: Sendable {
        public let environment: APIEnvironment
        public let database: PostgresDatabase
    }

    @discardableResult
    public static func configure(_ service: ServiceBuilder) async throws -> Components {
        let configuration = service.configuration
        let settings = configuration.settings
        let database = try service.postgres(critical: true)
        if try settings.bool("api.migrate-on-start", default: true) {
            try await Migrator(pool: database.write, logger: service.logger).migrate()
        }

        let cache = service.serviceClient(
            "cache",
            baseURL: configuration.cacheURL,
            critical: false,
            timeout: .seconds(2)
        )
        let invalidations = InvalidationOutbox(pool: database.write, client: cache, logger: service.logger)
        service.addService(invalidations)

        var queryEvents: QueryEventReporter?
        if try settings.bool("api.query-events", default: true) {
            let metrics = service.serviceClient(
                "metrics",
                baseURL: configuration.metricsURL,
                critical: false,
                timeout: .seconds(2)
            )
            let optimizer = service.serviceClient(
                "query-optimizer",
                baseURL: configuration.optimizerURL,
                critical: false,
                timeout: .seconds(2)
            )
            let reporter = QueryEventReporter(
                destinations: [
                    .init(name: "metrics", client: metrics, path: APIPath.Metrics.events),
                    .init(name: "optimizer", client: optimizer, path: APIPath.QueryOptimizer.queryEvents),
                ],
                logger: service.logger
            )
            for delivery in reporter.deliveries { service.addService(delivery) }
            queryEvents = reporter
        }

        let dashboard = DashboardRefresher(
            pool: database.write,
            interval: try settings.milliseconds(
                "api.dashboard-refresh-ms",
                default: .seconds(60),
                in: 100...86_400_000
            ),
            logger: service.logger,
            onRefresh: { await invalidations.record(tags: ["dashboard"], reason: "dashboard refreshed") }
        )
        service.addService(dashboard)

        let environment = APIEnvironment(
            database: RecordingDatabase(database: database),
            tokens: TokenStore(
                database: database,
                cacheTTL: try settings.milliseconds("api.token-cache-ms", default: .seconds(30), in: 0...3_600_000)
            ),
            invalidations: invalidations,
            queryEvents: queryEvents,
            dashboard: dashboard
        )
        ClientRoutes(environment: environment).register(service.routes)
        GuestRoutes(environment: environment).register(service.routes)
        PlanningRoutes(environment: environment).register(service.routes)
        ExportRoutes(
            environment: environment,
            logger: service.logger,
            streams: StreamSlots(maximum: 16, maximumPerClient: configuration.http.maximumStreamsPerClient)
        ).register(service.routes)
        return Components(environment: environment, database: database)
    }
}
