import WedSyncMetrics
import WedSyncServiceKit

/// `wedsync-metrics`: metric ingestion, percentiles, alerts and capacity planning (port 8083).
///
/// In this release: durable ingestion of event batches, 10-second HdrHistogram buckets in SQLite, and summary,
/// slow-endpoint and series queries.
@main
struct MetricsService {
    static func main() async {
        await ServiceMain.run(
            service: "wedsync-metrics",
            defaultPort: 8083,
            summary: "Ingests API, database, cache and system metrics; percentiles, alerts, regressions and capacity."
        ) { service in
            try MetricsApplication.configure(service)
        }
    }
}
