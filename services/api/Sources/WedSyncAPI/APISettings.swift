import WedSyncServiceKit

/// The API's own configuration, beside the common keys every service reads (the database, `cache.url`,
/// `metrics.url`, `optimizer.url`...): read once at start by ``APIApplication``.
///
/// | key | default | meaning |
/// |---|---|---|
/// | `api.migrate-on-start` | `true` | apply pending migrations before serving |
/// | `api.query-events` | `true` | report each request's statements to the metrics service (`metrics.url`) and the query optimizer (`optimizer.url`, for N+1 detection) |
/// | `api.dashboard-refresh-ms` | `60000` | how often the dashboard's materialized view is refreshed (100 to 86400000) |
/// | `api.token-cache-ms` | `30000` | how long a token lookup is trusted (0 to 3600000) |
/// | `api.warming-services` | `wedsync-cache` | services that may read a tenant's pages on its behalf to warm caches: with their own credential, `X-Tenant-Id` and `GET`/`HEAD` only (comma-separated; empty for none) |
struct APISettings: Sendable {
    /// `api.migrate-on-start`.
    var migrateOnStart: Bool
    /// `api.query-events`.
    var reportsQueryEvents: Bool
    /// `api.dashboard-refresh-ms`.
    var dashboardRefreshInterval: Duration
    /// `api.token-cache-ms`.
    var tokenCacheTTL: Duration
    /// `api.warming-services`.
    var warmingServices: [String]

    init(
        migrateOnStart: Bool = true,
        reportsQueryEvents: Bool = true,
        dashboardRefreshInterval: Duration = .seconds(60),
        tokenCacheTTL: Duration = .seconds(30),
        warmingServices: [String] = ["wedsync-cache"]
    ) {
        self.migrateOnStart = migrateOnStart
        self.reportsQueryEvents = reportsQueryEvents
        self.dashboardRefreshInterval = dashboardRefreshInterval
        self.tokenCacheTTL = tokenCacheTTL
        self.warmingServices = warmingServices
    }

    /// The settings `configuration` gives, the defaults for the keys it leaves out.
    init(_ configuration: ServiceConfiguration) throws(ConfigurationError) {
        let settings = configuration.settings
        let defaults = APISettings()
        self.init(
            migrateOnStart: try settings.bool("api.migrate-on-start", default: defaults.migrateOnStart),
            reportsQueryEvents: try settings.bool("api.query-events", default: defaults.reportsQueryEvents),
            dashboardRefreshInterval: try settings.milliseconds(
                "api.dashboard-refresh-ms",
                default: defaults.dashboardRefreshInterval,
                in: 100...86_400_000
            ),
            tokenCacheTTL: try settings.milliseconds(
                "api.token-cache-ms",
                default: defaults.tokenCacheTTL,
                in: 0...3_600_000
            ),
            warmingServices: try settings.serviceNames("api.warming-services", default: defaults.warmingServices)
        )
    }
}
