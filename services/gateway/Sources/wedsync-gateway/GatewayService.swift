import WedSyncGateway
import WedSyncServiceKit

/// `wedsync-gateway`: the reverse proxy, response cache and front door every supplier's phone talks to (port 8080).
///
/// ```
/// wedsync-gateway                                   routes from gateway.routes-file (or /api/** to api.url)
/// wedsync-gateway --upstream http://HOST:PORT --public   a standards-following shared cache in front of one origin
/// ```
@main
struct GatewayService {
    static func main() async {
        await ServiceMain.run(
            service: "wedsync-gateway",
            defaultPort: 8080,
            // It streams request bodies through to its upstream rather than reading them: a larger default.
            defaultMaxBodyBytes: 64 << 20,
            summary:
                "Reverse proxy with an RFC 9111 cache, tenant isolation and load balancing in front of the WedSync API."
        ) { service in
            try GatewayApplication.configure(service)
        }
    }
}
