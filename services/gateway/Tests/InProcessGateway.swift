import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import WedSyncGateway
import WedSyncServiceKit
import WedSyncTestSupport

/// The system's wall clock moved on by what a test adds: the gateway's cache ages responses by it, so a rule about
/// staleness moves it rather than sleeping, while the `Date` fields origins send stay true.
final class OffsetWallClock: WallClock {
    private let offset = Mutex<TimeInterval>(0)

    var now: Date { Date().addingTimeInterval(offset.withLock { $0 }) }

    func advance(by seconds: TimeInterval) {
        offset.withLock { $0 += seconds }
    }
}

/// A gateway running in the test process, on real HTTP on loopback with its L2 on the test Redis, in the plain
/// public mode in front of `upstream`: configured as the `wedsync-gateway` executable configures it, but with a
/// clock the test moves, and its cache at hand to wait until what it answered is stored.
final class InProcessGateway: Sendable {
    let baseURL: String
    let clock: OffsetWallClock
    let cache: GatewayCache
    private let group: ServiceGroup
    private let stopped: Mutex<Task<Void, Never>?>

    private init(baseURL: String, clock: OffsetWallClock, cache: GatewayCache, group: ServiceGroup) {
        self.baseURL = baseURL
        self.clock = clock
        self.cache = cache
        self.group = group
        self.stopped = Mutex(nil)
    }

    /// Starts one in front of `upstream`; `environment` adds configuration (a TLS listener, say).
    static func start(upstream: String, environment extra: [String: String] = [:]) async throws -> InProcessGateway {
        let port = try freePort()
        let environment = TestCredentials.environment(for: "wedsync-gateway").merging([
            "WEDSYNC_REDIS_URL": try TestEnvironment.redisURL(),
            "WEDSYNC_CACHE_ENCRYPTION_KEY": GatewayProcess.encryptionKey,
            "WEDSYNC_GATEWAY_EVENTS": "false",
            "WEDSYNC_LOG_LEVEL": "warning",
        ]) { _, new in new }.merging(extra) { _, new in new }
        let configuration = try await ServiceConfiguration.load(
            service: "wedsync-gateway",
            defaultPort: port,
            defaultMaxBodyBytes: 64 << 20,
            arguments: ["wedsync-gateway", "--upstream", upstream, "--public"],
            environment: environment
        )
        var logger = Logger(label: "gateway-test")
        logger.logLevel = .warning
        let service = ServiceBuilder(configuration: configuration, summary: "test", logger: logger)
        let clock = OffsetWallClock()
        let proxy = try GatewayApplication.configure(service, clock: clock)
        guard let cache = proxy.cache else { throw ConfigurationError(key: "gateway.cache.enabled", message: "off") }
        let group = ServiceGroup(configuration: .init(services: [service.buildApplication()], logger: logger))
        let gateway = InProcessGateway(baseURL: "http://127.0.0.1:\(port)", clock: clock, cache: cache, group: group)
        let running = Task { _ = try? await group.run() }
        gateway.stopped.withLock { $0 = running }
        // Until the purge backplane is subscribed, L1 keeps entries only briefly (and is cleared when it connects).
        _ = await eventually(timeout: .seconds(10)) {
            guard let ready = try? await HTTP.get(gateway.baseURL + "/ready") else { return false }
            return ready.status == 200 && !ready.text.contains("degraded")
        }
        return gateway
    }

    /// Returns once what the gateway answered so far is stored and no refresh runs (``GatewayCache/settled()``).
    func settled() async {
        await cache.settled()
    }

    /// Shuts the gateway down as a signal would, and waits until it has.
    func stop() async {
        await group.triggerGracefulShutdown()
        await stopped.withLock { $0 }?.value
    }
}
