import Foundation

/// A `wedsync-gateway` process for tests.
package enum GatewayProcess {
    package static let adminToken = TestCredentials.admin
    /// The key every test gateway seals its L2 records with, as every gateway of one deployment shares one.
    package static let encryptionKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

    /// A gateway in plain mode in front of `upstream` (public unless told otherwise), its L2 on the test Redis.
    package static func plain(upstream: String, public isPublic: Bool = true, environment: [String: String] = [:])
        async throws -> ServiceProcess
    {
        var arguments = ["--upstream", upstream]
        if isPublic { arguments.append("--public") }
        return try await start(arguments: arguments, environment: environment)
    }

    /// A gateway with a routes file.
    package static func routed(_ routesFile: String, environment: [String: String] = [:]) async throws -> ServiceProcess
    {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "gateway-\(UUID().uuidString.prefix(8)).yaml"
        ).path
        try routesFile.write(toFile: path, atomically: true, encoding: .utf8)
        return try await start(
            arguments: [],
            environment: environment.merging(["WEDSYNC_GATEWAY_ROUTES_FILE": path]) { $1 }
        )
    }

    package static func start(arguments: [String], environment: [String: String]) async throws -> ServiceProcess {
        var variables = [
            "WEDSYNC_REDIS_URL": try TestEnvironment.redisURL(),
            "WEDSYNC_CACHE_ENCRYPTION_KEY": encryptionKey,
            "WEDSYNC_GATEWAY_EVENTS": "false",
            "WEDSYNC_LOG_LEVEL": "warning",
        ]
        variables.merge(environment) { $1 }
        let process = try ServiceProcess("wedsync-gateway", environment: variables, arguments: arguments)
        try await process.waitUntil()
        // Until the purge backplane is subscribed, L1 keeps entries only briefly (and is cleared when it connects).
        _ = await eventually(timeout: .seconds(10)) {
            guard let ready = try? await HTTP.get(process.baseURL + "/ready") else { return false }
            return ready.status == 200 && !ready.text.contains("degraded")
        }
        return process
    }

    package static var admin: [(String, String)] { [("Authorization", "Bearer \(adminToken)")] }
}
