import WedSyncQueryOptimizer
import WedSyncServiceKit

/// `wedsync-query-optimizer`: plan analysis and proven index recommendations on the real PostgreSQL (port 8082).
///
/// In this release: `POST /v1/analyze` (EXPLAIN ANALYZE in a rolled-back, read-only transaction, findings, and
/// index recommendations proven with hypopg).
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
