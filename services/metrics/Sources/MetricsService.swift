import WedSyncServiceKit

/// `wedsync-metrics`: metric ingestion, percentiles, alerts and capacity planning (port 8083).
///
/// In this release it serves the service kit's common routes; its storage arrives with its own issue.
@main
struct MetricsService {
    static func main() async {
        await ServiceMain.run(
            service: "wedsync-metrics",
            defaultPort: 8083,
            summary: "Ingests API, database, cache and system metrics; percentiles, alerts, regressions and capacity."
        ) { _ in }
    }
}
