import Foundation
import WedSyncAutoscaler
import WedSyncServiceKit

/// `wedsync-autoscaler`: scales API and cache replicas from metrics and the wedding calendar (port 8084).
///
/// ```text
/// wedsync-autoscaler                                the service
/// wedsync-autoscaler simulate --trace FILE [--policy hpa|calendar|predictive|all] [...]
///                                                   replays a trace through each policy, prints a table
/// wedsync-autoscaler generate-trace --out FILE      writes the wedding-season trace and its bookings
/// ```
@main
struct AutoscalerService {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst(2))
        switch ServiceMain.subcommand() {
        case "simulate":
            run("simulate") { try SimulateCommand.simulate(arguments) }
        case "generate-trace":
            run("generate-trace") { try SimulateCommand.generate(arguments) }
        default:
            await ServiceMain.run(
                service: "wedsync-autoscaler",
                defaultPort: 8084,
                summary: "Scales the API and cache replicas from live metrics and the wedding calendar."
            ) { service in
                try AutoscalerApplication.configure(service)
            }
        }
    }

    static func run(_ name: String, _ body: () throws -> [String]) {
        do {
            for line in try body() { print(line) }
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("wedsync-autoscaler \(name): \(error)\n".utf8))
            exit(2)
        }
    }
}
