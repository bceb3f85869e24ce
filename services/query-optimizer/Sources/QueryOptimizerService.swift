import WedSyncServiceKit

/// `wedsync-query-optimizer`: plan analysis and proven index recommendations on the real PostgreSQL (port 8082).
///
/// In this release it serves the service kit's common routes and checks the database it analyses.
@main
struct QueryOptimizerService {
    static func main() async {
        await ServiceMain.run(
            service: "wedsync-query-optimizer",
            defaultPort: 8082,
            summary: "EXPLAIN analysis, index recommendations proven with hypothetical indexes, N+1 and index health."
        ) { service in
            _ = try service.postgres(critical: true)
        }
    }
}
