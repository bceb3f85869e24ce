/// The versioned paths one WedSync service calls on another, in one place so that a client and the server it calls
/// cannot drift apart (a service's other paths are added beside it, as extensions of its namespace). Every service-to-service route lives under a version prefix (`/v1/...`); the operational
/// routes every service has (`/health`, `/ready`, `/metrics`, `/openapi.json`) are unversioned, as the tools that
/// scrape them expect.
public enum APIPath {
    /// The current API version prefix.
    public static let v1 = "/v1"
    /// The response field in which every service names the route template that answered (`/api/clients/{id}`):
    /// the gateway labels its metrics and events with the upstream's own template, and strips the field.
    public static let routeHeader = "x-wedsync-route"

    /// Routes every service answers.
    public enum Common {
        public static let health = "/health"
        public static let ready = "/ready"
        public static let metrics = "/metrics"
        public static let openAPI = "/openapi.json"
        /// The process's log level (admin): read it, or change it without a restart.
        public static let logLevel = "\(v1)/admin/log-level"
    }

    /// The cache service (`wedsync-cache`).
    public enum Cache {
        public static let invalidations = "\(v1)/invalidations"
    }

    /// The metrics service (`wedsync-metrics`).
    public enum Metrics {
        public static let events = "\(v1)/events"
        /// Per series over a range; the gateway's `/api/performance/metrics` hands it on.
        public static let summary = "\(v1)/summary"
    }

    /// The query optimizer (`wedsync-query-optimizer`).
    public enum QueryOptimizer {
        public static let queryEvents = "\(v1)/query-events"
    }
}
