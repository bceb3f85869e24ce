import Crypto
import Foundation
import Hummingbird
import Logging
import NIOHTTP1
import WedSyncCacheKit
import WedSyncModels
import WedSyncRedis
import WedSyncRedisService
import WedSyncServiceKit

/// The gateway on a ``ServiceBuilder``: upstream pools and their health checks, the response cache on the
/// service's Redis (not critical: without it the cache lives in L1 only), tenant authentication, rate limits,
/// metrics, the admin API, and the proxy that takes every request the gateway does not answer itself.
public enum GatewayApplication {
    /// Configures the gateway on `service`; `clock` is the wall clock its cache reads ages by.
    @discardableResult
    public static func configure(_ service: ServiceBuilder, clock: any WallClock = SystemWallClock()) throws
        -> GatewayProxy
    {
        let settings = try GatewaySettings(service.configuration)
        let logger = service.logger
        let pools = UpstreamRegistry(settings.routesFile.pools.map(UpstreamPool.init))
        let client = UpstreamClient(
            connectTimeout: settings.connectTimeout,
            readTimeout: settings.readTimeout,
            logger: logger
        )
        service.addService(client)
        service.addService(HealthChecker(pools: pools, client: client, logger: logger))

        // Registered after the client and the cache its jobs use, so it drains before they stop.
        let background = BackgroundWork(name: "gateway-background", logger: logger)
        // Stored bodies recoded at the best levels, one at a time on NIO's thread pool: a burst of fills never
        // holds the stores' slots; past its queue, a response keeps its fast coding.
        let recoding = BackgroundWork(
            name: "gateway-recode",
            configuration: .init(concurrency: 1, capacity: 256),
            logger: logger
        )
        var responseCache: ResponseCache?
        var redis: (any RedisKeyRouting)?
        if settings.cacheEnabled {
            var l2: RedisL2Store?
            var configuration = settings.cache
            if settings.useRedis {
                let router = try service.redisRouting(critical: false)
                redis = router
                let seeds = try service.configuration.redisSeeds()
                let key: SymmetricKey
                if let configured = settings.encryptionKey {
                    key = configured
                } else {
                    // Sealed whatever happens: without a shared key, this process's own, so Redis alone never
                    // reveals a tenant's page (other gateways then cannot read these records, and miss).
                    key = SymmetricKey(size: .bits256)
                    logger.warning(
                        "no cache.encryption-key: L2 records are sealed with a key of this process only, so gateways do not share them"
                    )
                }
                l2 = RedisL2Store(
                    redis: router,
                    codec: L2Codec(
                        compressionThreshold: Int.max,
                        encryptionKey: key,
                        maximumValueBytes: settings.maximumObjectBytes + (1 << 16)
                    )
                )
                configuration.backplane = seeds[0]
                configuration.backplaneFallbacks = Array(seeds.dropFirst())
            }
            let cache = MultiTierCache(configuration: configuration, l2: l2, logger: logger)
            service.addService(cache)
            responseCache = ResponseCache(
                cache: cache,
                maximumObjectBytes: settings.maximumObjectBytes,
                keepSeconds: settings.keepSeconds,
                maximumTTL: settings.cache.defaultPolicy.maximumTTL,
                logger: logger
            )
            if l2 != nil {
                service.addReadinessCheck(
                    ClosureReadinessCheck(name: "backplane", critical: false) {
                        guard cache.isBackplaneLive else {
                            return ReadinessOutcome(
                                state: .degraded,
                                detail: "purge backplane down: L1 entries kept briefly"
                            )
                        }
                        return .up
                    }
                )
            }
        } else if settings.useRedis, settings.routesFile.routes.contains(where: { $0.rateLimit?.global == true }) {
            redis = try service.redisRouting(critical: false)
        }

        service.addService(background)
        service.addService(recoding)

        var summaries: APICallAggregator?
        if settings.events {
            summaries = service.apiCallSummaries(name: "gateway-events", flushInterval: settings.eventsInterval)
        }

        let proxy = GatewayProxy(
            routes: RouteTable(settings.routesFile.routes),
            pools: pools,
            client: client,
            cache: responseCache.map {
                GatewayCache(
                    store: $0,
                    policy: SharedCachePolicy(),
                    forwarder: UpstreamForwarder(client: client),
                    background: background,
                    recoding: recoding,
                    clock: clock
                )
            },
            authenticator: TenantAuthenticator(
                client: client,
                pools: pools,
                pool: settings.authUpstream,
                validFor: settings.tokenValidFor,
                refusedFor: settings.tokenRefusedFor
            ),
            rateLimiter: RateLimiter(redis: redis, logger: logger),
            metrics: GatewayMetrics(summaries: summaries),
            warming: WarmingIdentity(
                credentials: service.configuration.credentials,
                names: settings.warmingServices,
                maximumLifetime: Int(settings.cache.defaultPolicy.maximumTTL)
            ),
            logger: logger
        )
        service.addMiddleware(GatewayProxyMiddleware(proxy: proxy))
        // Set even when it answers nothing: its pipeline frames HEAD responses and forwards stored Dates.
        service.setFastResponder(
            GatewayFastPath(
                proxy: proxy,
                serverName: service.configuration.service,
                enabled: settings.fastPath && proxy.cache != nil
            )
        )
        // A miss awaits an upstream and Redis on the client connection's own loop: nothing in the gateway's handlers
        // blocks a thread, so they run there, and no await wakes another thread to resume.
        service.runHandlersOnEventLoops()
        let replicas = settings.routesFile.pools.flatMap(\.replicas).map(\.baseURL)
        GatewayAdminRoutes(
            pools: pools,
            cache: responseCache,
            background: background,
            origins: AllowedOrigins(service.configuration.allowedOrigins + replicas)
        ).register(service.routes)
        let configuration = service.configuration
        GatewayPerformanceRoutes(
            cache: responseCache,
            pools: pools,
            probeTimeout: settings.probeTimeout,
            peers: [
                ("cache", configuration.cacheURL), ("metrics", configuration.metricsURL),
                ("query-optimizer", configuration.optimizerURL),
            ].map { name, url in
                ServiceClient(name: name, baseURL: url, token: configuration.serviceToken)
            },
            metrics: ServiceClient(
                name: "metrics",
                baseURL: configuration.metricsURL,
                token: configuration.serviceToken,
                timeout: .seconds(3)
            )
        ).register(service.routes)
        for pool in pools.all {
            let name = pool.name
            service.addReadinessCheck(
                ClosureReadinessCheck(name: "upstream-\(name)", critical: false) {
                    let replicas = pool.status().replicas
                    let serving = replicas.filter { $0.state == "healthy" || $0.state == "probing" }.count
                    if serving == 0 {
                        return ReadinessOutcome(state: .degraded, detail: "no healthy replica in \(name)")
                    }
                    return serving == replicas.count
                        ? .up
                        : ReadinessOutcome(state: .degraded, detail: "\(serving) of \(replicas.count) replicas healthy")
                }
            )
        }
        logger.info(
            "gateway configured",
            metadata: [
                "gateway.routes": "\(settings.routesFile.routes.count)",
                "gateway.pools": "\(pools.all.map(\.name).joined(separator: ","))",
            ]
        )
        return proxy
    }
}

/// Sends every request that is not one of the gateway's own paths to the proxy.
struct GatewayProxyMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext
    let proxy: GatewayProxy

    func handle(
        _ request: Request,
        context: ServiceRequestContext,
        next: (Request, ServiceRequestContext) async throws -> Response
    ) async throws -> Response {
        if GatewayProxy.isOwnPath(request.uri.path) { return try await next(request, context) }
        return await proxy.handle(request, context: context)
    }
}

/// The gateway's configuration keys.
///
/// | key | default | meaning |
/// |---|---|---|
/// | `upstream` | none | plain mode: one catch-all route to this origin (with `--public`: no tenant auth) |
/// | `public` | `false` | the plain mode's route is public |
/// | `gateway.routes-file` | none | the routes file (`infrastructure/gateway.yaml`); without it `/api/**` goes to `api.url` |
/// | `gateway.connect-timeout-ms` | `1000` | opening a connection to a replica |
/// | `gateway.read-timeout-ms` | `30000` | the longest wait between two reads of an upstream response |
/// | `gateway.auth.upstream` | `api` (else the first pool) | the pool whose `/api/auth/introspect` checks tokens |
/// | `gateway.cache.enabled` | `true` | the RFC 9111 response cache |
/// | `gateway.cache.redis` | `true` | L2 in Redis (`redis.url`) and purges over its backplane |
/// | `cache.encryption-key` | none | base64 of 32 bytes: L2 records sealed with AES-GCM (without it, with a key of the process's own) |
/// | `gateway.cache.l1-max-entries` / `l1-max-bytes` | `100000` / `268435456` | L1's bounds |
/// | `gateway.cache.fast-path` | `true` | fresh L1 hits answered on the connection's event loop (``GatewayFastPath``) |
/// | `gateway.cache.max-object-bytes` | `8388608` | larger responses stream through, unstored |
/// | `gateway.cache.keep-seconds` | `600` | how long a stale response with a validator is kept to be revalidated |
/// | `gateway.cache.max-ttl-seconds` | `172800` | the longest any response is kept (and the longest freshness a warming request may ask for) |
/// | `gateway.warming-services` | `wedsync-cache` | services that may warm the cache on a tenant's behalf: their own credential, `X-Tenant-Id`, `GET`/`HEAD` (comma-separated; empty for none) |
/// | `gateway.auth.valid-seconds` / `refused-seconds` | `30` / `5` | how long a token's introspection is remembered |
/// | `gateway.events` | `true` | count every request for the metrics service (`metrics.url`), as 10-second `api_call_summary` aggregates |
/// | `gateway.events.interval-ms` | `10000` | how often the aggregates are shipped (a window may go in parts: they add up) |
/// | `gateway.performance.probe-timeout-ms` | `40` | how long `/api/performance/health` waits for a service's `/ready` |
struct GatewaySettings {
    var routesFile: GatewayRoutesFile
    var connectTimeout: Duration
    var readTimeout: Duration
    var authUpstream: String
    var cacheEnabled: Bool
    var useRedis: Bool
    var cache: MultiTierCache.Configuration
    var encryptionKey: SymmetricKey?
    var maximumObjectBytes: Int
    var keepSeconds: Double
    var tokenValidFor: Duration
    var tokenRefusedFor: Duration
    var events: Bool
    var eventsInterval: Duration
    /// How long `/api/performance/health` waits for each service's `/ready`.
    var probeTimeout: Duration
    var fastPath: Bool
    /// `gateway.warming-services`.
    var warmingServices: [String]

    init(_ configuration: ServiceConfiguration) throws(ConfigurationError) {
        let settings = configuration.settings
        if let upstream = settings.string("upstream") {
            guard let address = UpstreamAddress(upstream), upstream.contains("://") else {
                throw ConfigurationError(key: "upstream", message: "expected http://host:port")
            }
            let isPublic = try settings.bool("public", default: false)
            routesFile = GatewayRoutesFile(
                pools: [UpstreamPoolConfiguration(name: "origin", replicas: [address])],
                routes: [
                    GatewayRoute(
                        name: "origin",
                        pattern: RoutePattern("/**")!,
                        upstream: "origin",
                        access: isPublic ? .public : .tenant
                    )
                ]
            )
        } else if let path = settings.string("gateway.routes-file"), !path.isEmpty {
            let api = UpstreamAddress(configuration.apiURL).map { [$0] } ?? []
            routesFile = try GatewayRoutesFile.load(path: path, defaultReplicas: ["api": api])
        } else {
            guard let api = UpstreamAddress(configuration.apiURL) else {
                throw ConfigurationError(key: "api.url", message: "expected http://host:port")
            }
            routesFile = GatewayRoutesFile(
                pools: [UpstreamPoolConfiguration(name: "api", replicas: [api])],
                routes: [GatewayRoute(name: "api", pattern: RoutePattern("/api/**")!, upstream: "api")]
            )
        }
        connectTimeout = try settings.milliseconds("gateway.connect-timeout-ms", default: .seconds(1), in: 10...60_000)
        probeTimeout = try settings.milliseconds(
            "gateway.performance.probe-timeout-ms",
            default: .milliseconds(40),
            in: 5...10_000
        )
        readTimeout = try settings.milliseconds("gateway.read-timeout-ms", default: .seconds(30), in: 10...3_600_000)
        let poolNames = routesFile.pools.map(\.name)
        authUpstream =
            settings.string("gateway.auth.upstream") ?? (poolNames.contains("api") ? "api" : poolNames.first ?? "api")
        guard poolNames.contains(authUpstream) else {
            throw ConfigurationError(key: "gateway.auth.upstream", message: "no upstream pool named \(authUpstream)")
        }
        cacheEnabled = try settings.bool("gateway.cache.enabled", default: true)
        fastPath = try settings.bool("gateway.cache.fast-path", default: true)
        useRedis = try settings.bool("gateway.cache.redis", default: true)
        encryptionKey = try settings.symmetricKey("cache.encryption-key")
        maximumObjectBytes = try settings.int(
            "gateway.cache.max-object-bytes",
            default: 8 << 20,
            in: 1024...(512 << 20)
        )
        keepSeconds = try settings.double("gateway.cache.keep-seconds", default: 600, in: 0...86_400)
        let maximumTTL = try settings.double("gateway.cache.max-ttl-seconds", default: 172_800, in: 1...(30 * 86_400))
        warmingServices = try settings.serviceNames("gateway.warming-services", default: ["wedsync-cache"])
        cache = MultiTierCache.Configuration(
            l1: L1Configuration(
                maximumEntries: try settings.int(
                    "gateway.cache.l1-max-entries",
                    default: 100_000,
                    in: 16...100_000_000
                ),
                maximumBytes: try settings.int(
                    "gateway.cache.l1-max-bytes",
                    default: 256 << 20,
                    in: 1 << 16...(64 << 30)
                )
            ),
            defaultPolicy: NamespacePolicy(ttl: 60, maximumTTL: maximumTTL, staleWhileRevalidate: 0, failSafe: 0),
            ttlJitter: 0
        )
        tokenValidFor = .seconds(try settings.double("gateway.auth.valid-seconds", default: 30, in: 0...3_600))
        tokenRefusedFor = .seconds(try settings.double("gateway.auth.refused-seconds", default: 5, in: 0...3_600))
        events = try settings.bool("gateway.events", default: true)
        eventsInterval = try settings.milliseconds("gateway.events.interval-ms", default: .seconds(10), in: 50...60_000)
    }
}
