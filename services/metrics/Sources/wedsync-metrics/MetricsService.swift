import Foundation
import WedSyncMetrics
import WedSyncServiceKit

/// `wedsync-metrics`: metric ingestion, percentiles, alerts, budgets, regressions and capacity planning (port 8083).
///
/// ```text
/// wedsync-metrics                                  the service
/// wedsync-metrics check-budgets [--url URL] [--file budgets.yaml] [--range 1h] [--fail-on-no-data]
///                                                  exits 1 when a budget is breached (for CI)
/// ```
@main
struct MetricsService {
    static func main() async {
        switch ServiceMain.subcommand() {
        case "check-budgets":
            do {
                let (lines, status) = try await BudgetCheckCommand.run(Array(CommandLine.arguments.dropFirst(2)))
                for line in lines { print(line) }
                exit(status)
            } catch {
                FileHandle.standardError.write(Data("wedsync-metrics check-budgets: \(error)\n".utf8))
                exit(2)
            }
        default:
            await ServiceMain.run(
                service: "wedsync-metrics",
                defaultPort: 8083,
                summary:
                    "Ingests API, database, cache and system metrics; percentiles, alerts, budgets, regressions and capacity."
            ) { service in
                try MetricsApplication.configure(service)
            }
        }
    }
}
