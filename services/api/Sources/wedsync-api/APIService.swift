import Foundation
import Logging
import WedSyncAPI
import WedSyncConnectionPool
import WedSyncModels
import WedSyncPostgres
import WedSyncPostgresService
import WedSyncServiceKit

/// `wedsync-api`: the demo WedSync API on PostgreSQL, the upstream everything is measured on (port 8090).
///
/// ```
/// wedsync-api                                  serve (migrates first)
/// wedsync-api migrate                          apply pending migrations and exit
/// wedsync-api seed --scale 1 [--organizations N] [--seed S] [--anchor YYYY-MM-DD] [--if-empty | --replace]
/// wedsync-api token --org N                    print a new bearer token for a supplier of organization N
/// wedsync-api load-data [--organizations 20] [--per-field 50]
///                                              print wedsync-load's data: per organization a new token and its ids
/// ```
@main
struct APIService {
    static let name = "wedsync-api"
    static let port = 8090

    static func main() async {
        switch ServiceMain.subcommand() {
        case nil, "serve":
            await ServiceMain.run(
                service: name,
                defaultPort: port,
                summary: "The WedSync API: organizations, clients, guests, vendors and wedding-day schedules.",
                arguments: arguments()
            ) { service in
                try await APIApplication.configure(service)
            }
        case "migrate":
            await ServiceMain.command(service: name, defaultPort: port, arguments: arguments()) {
                configuration,
                logger in
                try await withPrimary(configuration, logger) { pool in
                    let applied = try await Migrator(pool: pool, logger: logger).migrate()
                    print("applied \(applied.count) migration(s)")
                }
                return 0
            }
        case "seed":
            await ServiceMain.command(service: name, defaultPort: port, arguments: arguments()) {
                configuration,
                logger in
                let settings = configuration.settings
                let scale = try settings.double("scale", default: 0.02, in: 0.0001...100)
                let organizations = try settings.int("organizations", default: 0, in: 0...1_000_000)
                var options = SeedOptions(
                    scale: scale,
                    organizations: organizations == 0 ? nil : organizations,
                    seed: UInt64(try settings.int("seed", default: 20_260_613, in: 0...Int.max)),
                    anchor: SeedOptions.defaultAnchor
                )
                if let anchor = settings.string("anchor") {
                    guard let day = CalendarDay(anchor) else {
                        throw ConfigurationError(key: "anchor", message: "expected a date as YYYY-MM-DD")
                    }
                    options.anchor = day
                }
                let ifEmpty = try settings.bool("if-empty", default: false)
                let replace = try settings.bool("replace", default: false)
                return try await withPrimary(configuration, logger) { pool -> Int32 in
                    try await Migrator(pool: pool, logger: logger).migrate()
                    let generator = SeedGenerator(options: options, pool: pool, logger: logger)
                    if try await generator.isSeeded() {
                        if ifEmpty {
                            print("already seeded: nothing to do")
                            return 0
                        }
                        guard replace else {
                            FileHandle.standardError.write(
                                Data("\(name): the database is already seeded (use --replace or --if-empty)\n".utf8)
                            )
                            return 1
                        }
                        try await generator.truncate()
                    }
                    let summary = try await generator.run()
                    let encoder = WedSyncJSON.makeEncoder()
                    encoder.outputFormatting.insert(.prettyPrinted)
                    print(String(decoding: try encoder.encode(summary), as: UTF8.self))
                    return 0
                }
            }
        case "token":
            await ServiceMain.command(service: name, defaultPort: port, arguments: arguments()) {
                configuration,
                logger in
                let organization = try configuration.settings.int("org", default: 0, in: 0...Int.max)
                guard organization > 0 else {
                    throw ConfigurationError(key: "org", message: "required: the organization id (1...N)")
                }
                try await withPrimary(configuration, logger) { pool in
                    let database = PostgresDatabase(primary: pool)
                    print(try await TokenStore(database: database).issue(organization: organization))
                }
                return 0
            }
        case "load-data":
            await ServiceMain.command(service: name, defaultPort: port, arguments: arguments()) {
                configuration,
                logger in
                let settings = configuration.settings
                let organizations = try settings.int("organizations", default: 20, in: 1...10_000)
                let perField = try settings.int("per-field", default: 50, in: 1...10_000)
                try await withPrimary(configuration, logger) { pool in
                    let rows = try await LoadDataExtractor(database: PostgresDatabase(primary: pool))
                        .rows(organizations: organizations, perField: perField)
                    print(String(decoding: try WedSyncJSON.makeEncoder().encode(rows), as: UTF8.self))
                }
                return 0
            }
        case let other?:
            FileHandle.standardError.write(
                Data("\(name): unknown command \(other) (expected serve, migrate, seed, token or load-data)\n".utf8)
            )
            exit(2)
        }
    }

    /// The arguments without the subcommand, for the configuration's flag parser.
    static func arguments() -> [String] {
        var arguments = CommandLine.arguments
        if ServiceMain.subcommand(of: arguments) != nil { arguments.remove(at: 1) }
        return arguments
    }

    /// Runs `body` with a pool on the primary, closed afterwards.
    static func withPrimary<Result>(
        _ configuration: ServiceConfiguration,
        _ logger: Logger,
        _ body: (PostgresPool) async throws -> Result
    ) async throws -> Result {
        var postgres = try configuration.postgresPrimary()
        postgres.statementTimeout = nil
        let pool = PostgresPool(
            name: "primary",
            configuration: postgres,
            poolConfiguration: .init(minimumConnections: 0, maximumConnections: 2),
            logger: logger
        )
        do {
            let result = try await body(pool)
            await pool.shutdown()
            return result
        } catch {
            await pool.shutdown()
            throw error
        }
    }
}
