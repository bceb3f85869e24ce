import WedSyncQueryOptimizer
import WedSyncServiceKit

/// `wedsync-query-optimizer`: plan, workload, N+1, index, table and connection analysis of the real PostgreSQL (port 8082).
///
/// `POST /v1/analyze`, `GET /v1/workload`, `POST /v1/query-events` and `GET /v1/n-plus-one`, `GET /v1/indexes`,
/// `/v1/tables`, `/v1/connections`, and `GET /v1/report` (JSON or HTML); findings go to the metrics service.
@main
struct QueryOptimizerService {
    static func main() async {
        await ServiceMain.run(
            service: "wedsync-query-optimizer",
            defaultPort: 8082,
            summary: "EXPLAIN analysis, index recommendations proven with hypothetical indexes, N+1 and index health."
        ) { service in
            try QueryOptimizerApplication.configure(service)
        }
    }
}
