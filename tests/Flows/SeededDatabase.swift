import Foundation
import Logging
import WedSyncPostgres
import WedSyncTestSupport

/// A database of its own on the test server, with the extensions the optimizer needs, migrated and seeded by
/// `wedsync-api seed` as a user seeds one.
struct SeededDatabase {
    let url: String

    static func create(prefix: String, organizations: Int) async throws -> SeededDatabase {
        let server = try TestEnvironment.databaseURL()
        let name = "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        let admin = PostgresPool(
            name: "admin",
            configuration: try PostgresConfiguration(url: server),
            logger: Logger(label: "test")
        )
        try await admin.withConnection { try await $0.simpleQuery("CREATE DATABASE \(name)") }
        await admin.shutdown()
        let url = server.replacingOccurrences(of: "/wedsync", with: "/\(name)")
        let pool = PostgresPool(
            name: prefix,
            configuration: try PostgresConfiguration(url: url),
            logger: Logger(label: "test")
        )
        try await pool.withConnection {
            try await $0.simpleQuery(
                "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE EXTENSION IF NOT EXISTS hypopg; CREATE EXTENSION IF NOT EXISTS pg_trgm"
            )
        }
        await pool.shutdown()
        let database = SeededDatabase(url: url)
        let seeded = try await database.api([
            "seed", "--scale", "0.02", "--organizations", String(organizations), "--if-empty",
        ])
        guard seeded.status == 0 else { throw Failure(description: "seed: \(seeded.output)") }
        return database
    }

    /// A new supplier's token of `organization`, issued by `wedsync-api token`.
    func token(organization: Int) async throws -> String {
        let issued = try await api(["token", "--org", String(organization)])
        guard issued.status == 0, let line = issued.output.split(separator: "\n").last(where: { $0.hasPrefix("wsk_") })
        else {
            throw Failure(description: "token: \(issued.output)")
        }
        return String(line)
    }

    private func api(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let binary = try TestEnvironment.binDirectory() + "/wedsync-api"
        return try await run(
            binary,
            arguments,
            environment: ["WEDSYNC_DATABASE_URL": url, "WEDSYNC_LOG_LEVEL": "warning"]
        )
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }
}
