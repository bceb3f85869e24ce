import WedSyncServiceKit

/// `wedsync-gateway`: the reverse proxy, response cache and front door every supplier's phone talks to (port 8080).
///
/// In this release it serves the service kit's common routes and checks its dependencies: Redis (its shared L2
/// cache) and the WedSync API it fronts.
@main
struct GatewayService {
    static func main() async {
        await ServiceMain.run(
            service: "wedsync-gateway",
            defaultPort: 8080,
            summary: "Reverse proxy with an RFC 9111 cache, tenant isolation and load balancing in front of the WedSync API."
        ) { service in
            _ = try service.redis(critical: true)
            _ = service.serviceClient("api", baseURL: service.configuration.apiURL, critical: true)
        }
    }
}
