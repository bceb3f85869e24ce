import Logging
import WedSyncModels
import WedSyncPostgres
import WedSyncPostgresService
import WedSyncServiceKit

/// The WedSync API on a ``ServiceBuilder``: its schema migrated, its background work registered, its routes added.
///
/// Its own configuration keys, beside the common ones, are listed on ``APISettings``.
public enum APIApplication {
    /// Everything the API registered, for tests and commands.
    public struct Components: Sendable {
        public let environment: APIEnvironment
        public let database: PostgresDatabase
    }

    /// Reads the API's settings, migrates the schema (unless told not to), registers the background services and
    /// adds the routes; the settings are read before anything is migrated, so a bad key stops the start early.
    @discardableResult
    public static func configure(_ service: ServiceBuilder) async throws -> Components {
        let configuration = service.configuration
        let database = try service.postgres(critical: true)
        let settings = try APISettings(configuration)
        if settings.migrateOnStart {
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
        if settings.reportsQueryEvents {
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
            interval: settings.dashboardRefreshInterval,
            logger: service.logger,
            onRefresh: { tags in await invalidations.record(tags: tags, reason: "dashboard refreshed") }
        )
        service.addService(dashboard)

        // One recording database for the routes' statements and the token lookup: each is timed into the request's
        // `QueryLog`, so `Server-Timing` and the query events count them all.
        let recording = RecordingDatabase(database: database)
        let environment = APIEnvironment(
            database: recording,
            tokens: TokenStore(database: recording, cacheTTL: settings.tokenCacheTTL),
            invalidations: invalidations,
            queryEvents: queryEvents,
            dashboard: dashboard,
            warming: WarmingCallers(credentials: configuration.credentials, names: settings.warmingServices)
        )
        ClientRoutes(environment: environment).register(service.routes)
        GuestRoutes(environment: environment).register(service.routes)
        PlanningRoutes(environment: environment).register(service.routes)
        ScreenRoutes(environment: environment).register(service.routes)
        VendorRoutes(environment: environment).register(service.routes)
        AuthRoutes(environment: environment).register(service.routes)
        CalendarRoutes(environment: environment).register(service.routes)
        WarmingRoutes(environment: environment).register(service.routes)
        ExportRoutes(
            environment: environment,
            logger: service.logger,
            streams: StreamSlots(maximum: 16, maximumPerClient: configuration.http.maximumStreamsPerClient)
        ).register(service.routes)
        return Components(environment: environment, database: database)
    }
}
