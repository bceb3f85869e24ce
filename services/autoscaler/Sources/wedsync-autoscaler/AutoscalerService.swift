import WedSyncServiceKit

/// `wedsync-autoscaler`: scales API and cache replicas from metrics and the wedding calendar (port 8084).
///
/// In this release it serves the service kit's common routes and checks the metrics service it reads.
@main
struct AutoscalerService {
    static func main() async {
        await ServiceMain.run(
            service: "wedsync-autoscaler",
            defaultPort: 8084,
            summary: "Scales the API and cache replicas from live metrics and the wedding calendar."
        ) { service in
            _ = service.serviceClient("metrics", baseURL: service.configuration.metricsURL, critical: true)
        }
    }
}
