import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import WedSyncModels

/// Active health checks: every pool's replicas are asked for their health path on the pool's interval; a 2xx
/// within the timeout passes. Thresholds in a row mark a replica unhealthy or healthy again.
public struct HealthChecker: Service {
    let pools: UpstreamRegistry
    let client: UpstreamClient
    let logger: Logger

    public init(pools: UpstreamRegistry, client: UpstreamClient, logger: Logger) {
        self.pools = pools
        self.client = client
        self.logger = logger
    }

    public func run() async throws {
        let interval = pools.all.map(\.configuration.healthInterval).min() ?? .seconds(2)
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                for pool in pools.all {
                    for replica in pool.members {
                        group.addTask { await check(replica, in: pool) }
                    }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    func check(_ replica: Replica, in pool: UpstreamPool) async {
        let configuration = pool.configuration
        var request = HTTPClientRequest(url: replica.address.baseURL + configuration.healthPath)
        request.method = .GET
        var passed = false
        do {
            let response = try await client.http.execute(
                request,
                timeout: .nanoseconds(Int64(configuration.healthTimeout / .nanoseconds(1)))
            )
            _ = try await response.body.collect(upTo: 1 << 16)
            passed = (200..<300).contains(response.status.code)
        } catch {
            passed = false
        }
        let wasHealthy = replica.status(at: .now).state != "unhealthy"
        replica.recordHealth(passed: passed, configuration: configuration)
        let isHealthy = replica.status(at: .now).state != "unhealthy"
        if wasHealthy != isHealthy {
            logger.notice(
                isHealthy ? "replica healthy again" : "replica unhealthy",
                metadata: ["upstream.pool": "\(pool.name)", "upstream.replica": "\(replica.address.address)"]
            )
        }
    }
}

/// The gateway's upstream pools by name; the admin API adds and drains their replicas at run time.
public final class UpstreamRegistry: Sendable {
    private let pools: [String: UpstreamPool]
    private let order: [String]

    public init(_ pools: [UpstreamPool]) {
        self.pools = Dictionary(pools.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.order = pools.map(\.name)
    }

    public subscript(name: String) -> UpstreamPool? { pools[name] }
    public var all: [UpstreamPool] { order.compactMap { pools[$0] } }
}
