import WedSyncCacheService
import WedSyncServiceKit

/// `wedsync-cache`: the multi-tier cache service (port 8081).
@main
struct CacheService {
    static func main() async {
        await ServiceMain.run(
            service: "wedsync-cache",
            defaultPort: 8081,
            summary: "Multi-tier cache (in-process L1, Redis L2, CDN L3) with tag invalidation and stampede protection."
        ) { service in
            try CacheApplication.configure(service)
        }
    }
}
