import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import WedSyncCacheKit
import WedSyncModels
import WedSyncServiceKit

/// The seeds' performance endpoints, for monitor and admin callers (a tenant's or an anonymous caller's request is
/// refused like any monitor route's):
/// - `GET /api/performance/cache`: the response cache's hit ratio, L1 and L2 lookup times, each tier's share of the
///   lookups, and L1's entries, bytes and evictions;
/// - `GET /api/performance/health`: the readiness of the gateway, its upstream pools and the cache, metrics and query
///   optimizer services, asked all at once, each given ``probeTimeout`` to answer (40 ms by default, so that the
///   answer stays under 50 ms);
/// - `GET /api/performance/metrics`: the metrics service's summary (`/v1/summary`), read with the gateway's own token.
struct GatewayPerformanceRoutes {
    let cache: ResponseCache?
    let pools: UpstreamRegistry
    /// How long a service's `/ready` may take before it counts as down (`gateway.performance.probe-timeout-ms`).
    let probeTimeout: Duration
    /// The services whose `/ready` the health answer gathers.
    let peers: [ServiceClient]
    let metrics: ServiceClient

    static let cachePath = "/api/performance/cache"
    static let healthPath = "/api/performance/health"
    static let metricsPath = "/api/performance/metrics"

    func register(_ routes: ServiceRoutes) {
        let cache = self.cache
        routes.get(
            Self.cachePath,
            RouteSpec(
                summary: "The response cache: hit ratio, L1 and L2 lookup times, each tier's share, L1's size",
                tags: ["performance"],
                access: .monitor,
                response: .of(PerformanceCacheReport.self)
            )
        ) { _, _ in
            Self.cacheReport(cache?.statistics(), window: cache?.l1WindowEntries ?? 0)
        }

        let pools = self.pools
        let peers = self.peers
        let probeTimeout = self.probeTimeout
        routes.get(
            Self.healthPath,
            RouteSpec(
                summary: "Every service's readiness in one answer",
                description:
                    "The gateway, each upstream pool, and the cache, metrics and query optimizer services' /ready, asked "
                    + "at once; a service that does not answer within gateway.performance.probe-timeout-ms (40 ms) is down.",
                tags: ["performance"],
                access: .monitor,
                response: .of(PerformanceHealthReport.self)
            )
        ) { _, _ in
            await Self.healthReport(pools: pools, peers: peers, timeout: probeTimeout, cache: cache)
        }

        let metrics = self.metrics
        routes.add(
            .get,
            Self.metricsPath,
            RouteSpec(
                summary: "The metrics service's summary: per series p50/p95/p99, rate, error rate, cache hit ratio",
                tags: ["performance"],
                access: .monitor,
                queryParameters: [
                    QueryParameter(
                        "range",
                        schema: .text(2...7, pattern: "^[1-9][0-9]{0,5}[mhd]$"),
                        description: "Minutes, hours or days, like 15m, 1h (the default), 24h or 7d."
                    )
                ],
                response: NamedSchema(
                    schema: .described(.map(.any), "the metrics service's MetricsSummary (its /openapi.json)")
                )
            )
        ) { request, _ in
            let range = request.uri.queryParameters.get("range").map { String($0) } ?? "1h"
            guard Self.isRange(range) else {
                throw ServiceError.badRequest(
                    "range: minutes, hours or days, like 15m, 1h or 7d",
                    code: "invalid_parameter"
                )
            }
            do throws(ServiceClientError) {
                let answer = try await metrics.send(.GET, APIPath.Metrics.summary + "?range=" + range)
                var headers = HTTPFields()
                headers[.contentType] = "application/json"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: answer.body))
            } catch {
                if error.kind == .remote, error.status == 400 || error.status == 422 {
                    // The metrics service refused the query itself: the caller's, not an outage.
                    throw ServiceError.badRequest(
                        error.remote?.message ?? "the metrics service refused the query",
                        code: error.remote?.code ?? "invalid_parameter"
                    )
                }
                throw ServiceError.unavailable(
                    "the metrics service did not answer (\(error.kind.rawValue))",
                    code: "metrics_unavailable",
                    retryAfterSeconds: 5
                )
            }
        }
    }

    /// `15m`, `1h`, `7d`: one to six digits, the first not zero, then a unit.
    static func isRange(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (2...7).contains(bytes.count), let unit = bytes.last,
            [UInt8(ascii: "m"), .init(ascii: "h"), .init(ascii: "d")].contains(unit),
            bytes[0] != UInt8(ascii: "0")
        else { return false }
        return bytes.dropLast().allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// The report from the cache's statistics (`nil`: the gateway stores nothing).
    static func cacheReport(_ statistics: CacheStats?, window: Int) -> PerformanceCacheReport {
        guard let statistics else {
            return PerformanceCacheReport(
                enabled: false,
                hitRatio: 0,
                l1ResponseTime: 0,
                l2ResponseTime: 0,
                lookups: 0,
                tiers: [],
                entries: 0,
                bytes: 0,
                evictions: 0,
                l1WindowEntries: 0,
                l2Available: false,
                at: Date()
            )
        }
        let l1 = statistics.tiers.first { $0.tier == CacheTier.l1.rawValue }
        let l2 = statistics.tiers.first { $0.tier == CacheTier.l2.rawValue }
        // Every lookup asks L1 first: its hits and misses are all the lookups.
        let lookups = (l1?.hits ?? 0) + (l1?.misses ?? 0)
        let l1Hits = l1?.hits ?? 0
        let l2Hits = l2?.hits ?? 0
        let origin = max(0, lookups - l1Hits - l2Hits)
        func share(_ count: Int) -> Double { lookups == 0 ? 0 : Double(count) / Double(lookups) }
        func tier(_ name: String, _ stats: CacheTierStats?) -> PerformanceTier {
            PerformanceTier(
                tier: name,
                requests: stats?.hits ?? 0,
                ratio: share(stats?.hits ?? 0),
                p50Ms: (stats?.p50Micros ?? 0) / 1_000,
                p99Ms: (stats?.p99Micros ?? 0) / 1_000
            )
        }
        return PerformanceCacheReport(
            enabled: true,
            hitRatio: share(l1Hits + l2Hits),
            l1ResponseTime: (l1?.p50Micros ?? 0) / 1_000,
            l2ResponseTime: (l2?.p50Micros ?? 0) / 1_000,
            lookups: lookups,
            tiers: [
                tier(CacheTier.l1.rawValue, l1), tier(CacheTier.l2.rawValue, l2),
                PerformanceTier(tier: "origin", requests: origin, ratio: share(origin)),
            ],
            entries: l1?.entries ?? 0,
            bytes: l1?.bytes ?? 0,
            evictions: l1?.evictions ?? 0,
            l1WindowEntries: window,
            l2Available: statistics.l2Available,
            at: statistics.at
        )
    }

    /// Asks every peer's `/ready` at once, beside the gateway's own view of its pools and its cache.
    static func healthReport(
        pools: UpstreamRegistry,
        peers: [ServiceClient],
        timeout: Duration,
        cache: ResponseCache?
    ) async -> PerformanceHealthReport {
        let started = ContinuousClock.now
        // Degraded when its L2 is configured and out of reach; a gateway configured without one is as it should be.
        let onL1Only = cache.map { $0.cache.hasL2 && !$0.statistics().l2Available } ?? false
        var services = [
            DependencyStatus(
                name: "wedsync-gateway",
                state: onL1Only ? .degraded : .up,
                critical: true,
                latencyMs: 0,
                detail: onL1Only ? "the response cache's L2 is out of reach: it runs on L1 only" : nil
            )
        ]
        for pool in pools.all {
            let serving = pool.status().replicas.filter { $0.state == "healthy" || $0.state == "probing" }.count
            services.append(
                DependencyStatus(
                    name: "upstream-\(pool.name)",
                    state: serving > 0 ? .up : .down,
                    critical: true,
                    latencyMs: 0,
                    detail: serving > 0 ? nil : "no replica serves"
                )
            )
        }
        let answers = await withTaskGroup(of: (Int, DependencyStatus).self) { group in
            for (index, peer) in peers.enumerated() {
                group.addTask { (index, await probe(peer, timeout: timeout)) }
            }
            var answers: [(Int, DependencyStatus)] = []
            for await answer in group { answers.append(answer) }
            return answers.sorted { $0.0 < $1.0 }.map(\.1)
        }
        services += answers
        let status =
            services.contains { $0.critical && $0.state == .down }
            ? "unavailable" : services.allSatisfy { $0.state == .up } ? "ready" : "degraded"
        return PerformanceHealthReport(
            status: status,
            services: services,
            latencyMs: Self.milliseconds(since: started),
            at: Date()
        )
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        Double((ContinuousClock.now - start) / .microseconds(1)) / 1_000
    }

    /// One peer's `/ready`: up when ready, degraded when it says so, down when it answers 503 or not in time.
    static func probe(_ peer: ServiceClient, timeout: Duration) async -> DependencyStatus {
        let started = ContinuousClock.now
        func status(_ state: DependencyStatus.State, _ detail: String?) -> DependencyStatus {
            DependencyStatus(
                name: peer.name,
                state: state,
                critical: false,
                latencyMs: Self.milliseconds(since: started),
                detail: detail
            )
        }
        do {
            let answer = try await peer.send(.GET, APIPath.Common.ready, timeout: timeout)
            let report = try? WedSyncJSON.makeDecoder().decode(
                ReadinessReport.self,
                from: Data(answer.body.readableBytesView)
            )
            return report?.status == "ready" ? status(.up, nil) : status(.degraded, "it reports itself degraded")
        } catch {
            switch error.kind {
            case .timeout: return status(.down, "no answer within \(Int(timeout / .milliseconds(1))) ms")
            case .remote: return status(.down, "not ready (HTTP \(error.status ?? 0))")
            default: return status(.down, "unreachable")
            }
        }
    }
}
