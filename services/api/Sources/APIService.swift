import WedSyncServiceKit

/// `wedsync-api`: the demo WedSync API on PostgreSQL, the upstream everything is measured on (port 8090).
///
/// In this release it serves the service kit's common routes and checks its database.
@main
struct APIService {
    static func main() async {
        await ServiceMain.run(
            service: "wedsync-api",
            defaultPort: 8090,
            summary: "The WedSync API: organizations, clients, guests, vendors and wedding-day schedules."
        ) { service in
            _ = try service.postgres(critical: true)
        }
    }
}
