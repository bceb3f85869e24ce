import Foundation
import Hummingbird
import Logging

/// The entry point of every WedSync executable: load and validate the configuration, set up logging and metrics,
/// let the service add its dependencies and routes, then serve until SIGTERM or SIGINT.
///
/// A bad setting stops the process before it listens, with exit status 2 and a message naming the setting.
public enum ServiceMain {
    public static func run(
        service: String,
        defaultPort: Int,
        summary: String,
        arguments: [String] = CommandLine.arguments,
        configure: @Sendable (ServiceBuilder) async throws -> Void
    ) async {
        let configuration: ServiceConfiguration
        do {
            configuration = try await ServiceConfiguration.load(service: service, defaultPort: defaultPort, arguments: arguments)
        } catch {
            FileHandle.standardError.write(Data("\(service): \(error)\n".utf8))
            exit(2)
        }
        WedSyncLogHandler.bootstrap(service: service, format: configuration.logFormat, level: configuration.logLevel)
        let builder = ServiceBuilder(configuration: configuration, summary: summary)
        do {
            try await configure(builder)
        } catch {
            builder.logger.critical("cannot start", metadata: ["error": "\(error)"])
            FileHandle.standardError.write(Data("\(service): cannot start: \(error)\n".utf8))
            exit(2)
        }
        do {
            try await builder.buildApplication().runService()
        } catch {
            builder.logger.critical("stopped on an error", metadata: ["error": "\(error)"])
            exit(1)
        }
    }
}
