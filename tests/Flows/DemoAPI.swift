import WedSyncTestSupport

/// A `wedsync-api` process on a seeded database of its own (two organizations), for flows that put other services in
/// front of the API. Its events and invalidations go nowhere: nothing here counts them.
final class DemoAPI: Sendable {
    let process: ServiceProcess
    /// Suppliers' tokens of organizations 1 and 2.
    let tokenOne: String
    let tokenTwo: String

    var base: String { process.baseURL }

    static let shared = Task { try await DemoAPI() }

    private init() async throws {
        let database = try await SeededDatabase.create(prefix: "demo", organizations: 2)
        tokenOne = try await database.token(organization: 1)
        tokenTwo = try await database.token(organization: 2)
        process = try ServiceProcess(
            "wedsync-api",
            environment: [
                "WEDSYNC_DATABASE_URL": TestEnvironment.throughPgBouncer(database.url), "WEDSYNC_LOG_LEVEL": "warning",
            ]
        )
        try await process.waitUntil("/ready")
    }

    /// `GET` with a supplier's token.
    func get(_ path: String, token: String) async throws -> HTTP.Answer {
        try await HTTP.get(base + path, headers: [("Authorization", "Bearer \(token)")])
    }
}
