import Foundation
import WedSyncCacheService
import WedSyncServiceKit

/// `wedsync-cache`: the multi-tier cache service (port 8081).
///
/// ```
/// wedsync-cache                                                  serve
/// wedsync-cache simulate --capacity N --trace FILE [--policy P|all] [--shards N] [--seed N]   hit ratios
/// ```
@main
struct CacheService {
    static func main() async {
        switch ServiceMain.subcommand() {
        case "simulate":
            do {
                for line in try SimulateCommand.run(Array(CommandLine.arguments.dropFirst(2))) { print(line) }
                exit(0)
            } catch {
                FileHandle.standardError.write(Data("wedsync-cache simulate: \(error)\n".utf8))
                exit(2)
            }
        default:
            await ServiceMain.run(
                service: "wedsync-cache",
                defaultPort: 8081,
                summary:
                    "Multi-tier cache (in-process L1, Redis L2, CDN L3) with tag invalidation and stampede protection."
            ) { service in
                try CacheApplication.configure(service)
            }
        }
    }
}
