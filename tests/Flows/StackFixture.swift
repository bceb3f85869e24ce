import Foundation
import Logging
import Synchronization
import WedSyncModels
import WedSyncPostgres
import WedSyncTestSupport

/// The whole stack as real processes, wired as `scripts/stack` wires it: the API on a seeded database of its own,
/// the cache, metrics and query optimizer services, and the gateway with the shipped routes file in front of the
/// API. Every service has its own credential; the metrics service holds the shipped budgets and alert rules; the
/// optimizer connects as its least-privilege role. Started once for the suites that need it.
final class StackFixture: Sendable {
    let databaseURL: String
    let api: ServiceProcess
    let metrics: ServiceProcess
    let optimizer: ServiceProcess
    let gateway: ServiceProcess
    /// Suppliers' tokens of organizations 1 and 2.
    let tenantA: String
    let tenantB: String

    /// The cache service, which a test may stop and start again (``restartCache(down:)``).
    var cache: ServiceProcess { cacheProcess.withLock { $0 } }
    private let cacheProcess: Mutex<ServiceProcess>
    private let cacheEnvironment: [String: String]

    static let shared = Task { try await StackFixture() }

    var services: [ServiceProcess] { [api, cache, metrics, optimizer, gateway] }

    /// Stops the cache service, runs `down` while it is down, and starts it again on the same port; returns when
    /// it answers `/health`.
    func restartCache(down: () async throws -> Void) async throws {
        let old = cache
        try await old.terminate()
        try await down()
        let new = try ServiceProcess("wedsync-cache", port: old.port, environment: cacheEnvironment)
        cacheProcess.withLock { $0 = new }
        try await new.waitUntil("/health")
    }

    init() async throws {
        let seeded = try await SeededDatabase.create(prefix: "stack", organizations: 3)
        databaseURL = seeded.url
        tenantA = try await seeded.token(organization: 1)
        tenantB = try await seeded.token(organization: 2)
        try await libsh(#"ws_grant_optimizer_role "$1" wedsync_optimizer_stack"#, databaseURL)

        let ports = (
            api: try freePort(), cache: try freePort(), metrics: try freePort(), optimizer: try freePort(),
            gateway: try freePort()
        )
        let url = { (port: Int) in "http://127.0.0.1:\(port)" }
        let root = URL(fileURLWithPath: try TestEnvironment.scriptsDirectory()).deletingLastPathComponent().path
        let common = [
            "WEDSYNC_REDIS_URL": try TestEnvironment.stackRedisURL(),
            "WEDSYNC_API_URL": url(ports.api), "WEDSYNC_CACHE_URL": url(ports.cache),
            "WEDSYNC_METRICS_URL": url(ports.metrics),
            "WEDSYNC_OPTIMIZER_URL": url(ports.optimizer), "WEDSYNC_GATEWAY_URL": url(ports.gateway),
            "WEDSYNC_CACHE_ENCRYPTION_KEY": GatewayProcess.encryptionKey,
            "WEDSYNC_LOG_LEVEL": "warning",
        ]
        func start(_ service: String, _ port: Int, _ extra: [String: String]) throws -> ServiceProcess {
            try ServiceProcess(service, port: port, environment: common.merging(extra) { $1 })
        }
        metrics = try start(
            "wedsync-metrics",
            ports.metrics,
            [
                "WEDSYNC_METRICS_DATABASE": TestEnvironment.temporaryPath("metrics-test", suffix: ".sqlite3"),
                "WEDSYNC_METRICS_BUDGETS_FILE": root + "/infrastructure/budgets.yaml",
                "WEDSYNC_METRICS_ALERTS_FILE": root + "/infrastructure/alerts.yaml",
                "WEDSYNC_METRICS_SYSTEM_SAMPLE_MS": "0",
            ]
        )
        cacheEnvironment = common.merging([
            "WEDSYNC_CACHE_WARMING_FILE": root + "/infrastructure/cache-warming.yaml",
            "WEDSYNC_CACHE_NAMESPACES": "schedules",
        ]) { $1 }
        cacheProcess = Mutex(try ServiceProcess("wedsync-cache", port: ports.cache, environment: cacheEnvironment))
        optimizer = try start(
            "wedsync-query-optimizer",
            ports.optimizer,
            [
                "WEDSYNC_DATABASE_URL": databaseURL.replacingOccurrences(
                    of: "postgres://postgres@",
                    with: "postgres://wedsync_optimizer_stack@"
                )
            ]
        )
        api = try start(
            "wedsync-api",
            ports.api,
            [
                "WEDSYNC_DATABASE_URL": TestEnvironment.throughPgBouncer(databaseURL),
                "WEDSYNC_API_DASHBOARD_REFRESH_MS": "1000",
            ]
        )
        gateway = try start(
            "wedsync-gateway",
            ports.gateway,
            ["WEDSYNC_GATEWAY_ROUTES_FILE": root + "/infrastructure/gateway.yaml"]
        )
        for service in [metrics, cache, optimizer, api, gateway] { try await service.waitUntil("/ready") }
        // The gateway checks its upstream's health before it sends it traffic, and subscribes to purges.
        _ = await eventually(timeout: .seconds(20)) {
            guard let ready = try? await HTTP.get(self.gateway.baseURL + "/ready") else { return false }
            return ready.status == 200 && !ready.text.contains("degraded")
        }
    }

}
