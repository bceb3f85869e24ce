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
        defaultMaxBodyBytes: Int = 1 << 20,
        summary: String,
        arguments: [String] = CommandLine.arguments,
        configure: @Sendable (ServiceBuilder) async throws -> Void
    ) async {
        let configuration: ServiceConfiguration
        do {
            configuration = try await ServiceConfiguration.load(
                service: service,
                defaultPort: defaultPort,
                defaultMaxBodyBytes: defaultMaxBodyBytes,
                arguments: arguments
            )
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

    /// Runs a one-shot command of a service executable (`wedsync-api migrate`): the same configuration as the
    /// server, logs on standard error (standard output is the command's result), then exits with the status
    /// `body` returns. A bad setting exits with 2, an error thrown by `body` with 1.
    public static func command(
        service: String,
        defaultPort: Int,
        arguments: [String] = CommandLine.arguments,
        _ body: @Sendable (ServiceConfiguration, Logger) async throws -> Int32
    ) async -> Never {
        let configuration: ServiceConfiguration
        do {
            configuration = try await ServiceConfiguration.load(
                service: service,
                defaultPort: defaultPort,
                arguments: arguments
            )
        } catch {
            FileHandle.standardError.write(Data("\(service): \(error)\n".utf8))
            exit(2)
        }
        WedSyncLogHandler.bootstrap(
            service: service,
            format: configuration.logFormat,
            level: configuration.logLevel,
            toStandardError: true
        )
        let logger = Logger(label: service)
        do {
            exit(try await body(configuration, logger))
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("\(service): \(error)\n".utf8))
            exit(2)
        } catch {
            FileHandle.standardError.write(Data("\(service): \(error)\n".utf8))
            exit(1)
        }
    }

    /// The subcommand of `arguments` (the first one that is not a flag or a flag's value), if any.
    public static func subcommand(of arguments: [String] = CommandLine.arguments) -> String? {
        guard arguments.count > 1, !arguments[1].hasPrefix("-") else { return nil }
        return arguments[1]
    }
}
