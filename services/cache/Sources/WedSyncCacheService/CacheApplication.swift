import Crypto
import Foundation
import Logging
import WedSyncCacheKit
import WedSyncModels
import WedSyncRedis
import WedSyncRedisService
import WedSyncServiceKit

/// The cache service on a ``ServiceBuilder``: the multi-tier cache on the service's Redis, its routes, and its
/// health in `/ready` (Redis and the backplane are not critical: without them the cache serves from L1).
public enum CacheApplication {
    /// Builds the cache from the configuration, registers it and its routes, and returns it.
    @discardableResult
    public static func configure(_ service: ServiceBuilder) throws -> MultiTierCache {
        let settings = try CacheSettings(service.configuration)
        let redis = try service.redisRouting(critical: false)
        let seeds = try service.configuration.redisSeeds()
        let l2 = RedisL2Store(redis: redis, codec: settings.codec)
        var configuration = settings.cache
        configuration.backplane = seeds[0]
        configuration.backplaneFallbacks = Array(seeds.dropFirst())
        let cache = MultiTierCache(configuration: configuration, l2: l2, logger: service.logger)
        service.addService(cache)
        // Its handlers read L1 and await Redis and origins; none blocks a thread, so they run on their connection's
        // event loop, where the Redis client answers them without waking another thread.
        service.runHandlersOnEventLoops()
        service.addReadinessCheck(
            ClosureReadinessCheck(name: "backplane", critical: false) {
                guard cache.isBackplaneLive else {
                    return ReadinessOutcome(
                        state: .degraded,
                        detail: "invalidation backplane down: L1 entries kept briefly"
                    )
                }
                return .up
            }
        )
        let schedules = try settings.warmingFile.map(WarmingSchedule.load(path:)) ?? []
        let namespaces = try ServedNamespaces(
            settings.namespaces.map(Set.init)
                ?? settings.namedNamespaces.union(schedules.filter { $0.0.warm.gateway == nil }.map(\.0.warm.namespace))
        )
        for (schedule, _, _) in schedules
        where schedule.warm.gateway == nil && !namespaces.names.contains(schedule.warm.namespace) {
            throw ConfigurationError(
                key: "cache.warming-file",
                message: "schedule \(schedule.name): namespace \(schedule.warm.namespace) is not in cache.namespaces"
            )
        }
        let warmer = Warmer(
            cache: cache,
            namespaces: namespaces,
            origins: AllowedOrigins(service.configuration.allowedOrigins),
            serviceToken: service.configuration.credentials.ownToken,
            maximumValueBytes: settings.codec.maximumValueBytes,
            logger: service.logger
        )
        service.addService(warmer)
        if !schedules.isEmpty {
            service.addService(WarmingScheduler(schedules: schedules, warmer: warmer, logger: service.logger))
        }
        // Declared namespaces exist from the start: their statistics count every read, here and in every replica.
        for name in namespaces.names { _ = try cache.namespace(name) }
        service.logger.info(
            "serving namespaces",
            metadata: ["cache.namespaces": .string(namespaces.names.sorted().joined(separator: ","))]
        )
        var cdn: CDNPurger?
        if let url = settings.cdnPurgeURL {
            let purger = CDNPurger(url: url, token: settings.cdnToken, logger: service.logger)
            service.addService(purger.delivery)
            cdn = purger
        }
        let metrics = CacheMetricsReporter(cache: cache)
        service.addMetricsCollector { metrics.report() }
        let summaries =
            settings.events
            ? service.apiCallSummaries(name: "cache-events", flushInterval: settings.eventsInterval) : nil
        CacheRoutes(cache: cache, namespaces: namespaces, warmer: warmer, cdn: cdn, summaries: summaries)
            .register(service.routes)
        return cache
    }
}

/// The cache service's own configuration keys.
///
/// | key | default | meaning |
/// |---|---|---|
/// | `cache.namespaces` | the namespaces the other keys and the warming file name | the namespaces served over HTTP (never `gw`) |
/// | `cache.l1.max-entries` | `100000` | entries L1 holds |
/// | `cache.l1.max-bytes` | `268435456` | bytes of values L1 holds |
/// | `cache.ttl-seconds` | `300` | default TTL |
/// | `cache.max-ttl-seconds` | `86400` | the longest TTL a writer may ask for |
/// | `cache.stale-seconds` | `30` | stale-while-revalidate window |
/// | `cache.fail-safe-seconds` | `3600` | how long past its TTL a value may stand in for a failing loader |
/// | `cache.namespace-ttls` | none | per-namespace TTLs, `schedules=600,clients=120` |
/// | `cache.negative-ttl-seconds` | none | remember absences this long (negative caching); off without it |
/// | `cache.lock-namespaces` | none | namespaces whose misses take a Redis lease, so one process of all loads a key |
/// | `cache.compress-above-bytes` | `1024` | L2 values from this size are deflated |
/// | `cache.encryption-key` | none | base64 of a 32-byte key: L2 values are sealed with AES-GCM (secret) |
/// | `cache.l2-retry-ms` | `1000` | after an L2 failure, how long to go on without it |
/// | `cache.outage-l1-ttl-seconds` | `5` | while the backplane is down, the longest an entry stays in L1 |
/// | `cache.cdn.purge-url` | none | L3: where purges by surrogate key are POSTed; no CDN purging without it |
/// | `cache.cdn.token` | none | bearer token for the purge endpoint (secret) |
/// | `cache.warming-file` | none | YAML file of scheduled warming jobs (``WarmingSchedule``) |
/// | `cache.events` | `true` | count entry reads for the metrics service (`metrics.url`): per tier (`L1`, `L2`, `origin` for a miss) and namespace, as 10-second `api_call_summary` aggregates |
/// | `cache.events.interval-ms` | `10000` | how often the aggregates are shipped |
struct CacheSettings {
    var cache: MultiTierCache.Configuration
    var codec: L2Codec
    var cdnPurgeURL: String?
    var cdnToken: String?
    var warmingFile: String?
    /// `cache.namespaces`, when given.
    var namespaces: [String]?
    /// The namespaces `cache.namespace-ttls` and `cache.lock-namespaces` name.
    var namedNamespaces: Set<String> = []
    /// `cache.events`.
    var events = true
    /// `cache.events.interval-ms`.
    var eventsInterval: Duration = .seconds(10)

    init(_ configuration: ServiceConfiguration) throws(ConfigurationError) {
        let settings = configuration.settings
        events = try settings.bool("cache.events", default: true)
        eventsInterval = try settings.milliseconds("cache.events.interval-ms", default: .seconds(10), in: 50...60_000)
        let maximumTTL = try settings.double("cache.max-ttl-seconds", default: 86_400, in: 1...(7 * 86_400))
        let negativeTTL =
            settings.string("cache.negative-ttl-seconds") == nil
            ? nil : try settings.double("cache.negative-ttl-seconds", default: 30, in: 0.001...maximumTTL)
        let policy = NamespacePolicy(
            ttl: try settings.double("cache.ttl-seconds", default: 300, in: 0.001...maximumTTL),
            maximumTTL: maximumTTL,
            staleWhileRevalidate: try settings.double("cache.stale-seconds", default: 30, in: 0...86_400),
            failSafe: try settings.double("cache.fail-safe-seconds", default: 3_600, in: 0...86_400),
            negativeTTL: negativeTTL
        )
        var namespaces: [String: NamespacePolicy] = [:]
        if let text = settings.string("cache.namespace-ttls") {
            for part in text.split(separator: ",") {
                let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2, let ttl = Double(pair[1]), ttl > 0, ttl <= maximumTTL,
                    (try? CacheAddress(namespace: pair[0], key: "k")) != nil
                else {
                    throw ConfigurationError(
                        key: "cache.namespace-ttls",
                        message: "expected namespace=seconds pairs separated by commas"
                    )
                }
                var namespace = policy
                namespace.ttl = ttl
                namespaces[pair[0]] = namespace
                namedNamespaces.insert(pair[0])
            }
        }
        if let text = settings.string("cache.lock-namespaces") {
            for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty
            {
                guard (try? CacheAddress(namespace: name, key: "k")) != nil else {
                    throw ConfigurationError(
                        key: "cache.lock-namespaces",
                        message: "expected namespace names separated by commas"
                    )
                }
                namespaces[name, default: policy].distributedLoadLock = true
                namedNamespaces.insert(name)
            }
        }
        if let text = settings.string("cache.namespaces") {
            let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
            guard names.allSatisfy({ (try? CacheAddress(namespace: $0, key: "k")) != nil }) else {
                throw ConfigurationError(
                    key: "cache.namespaces",
                    message: "expected namespace names separated by commas"
                )
            }
            self.namespaces = names
        }
        let maximumEntries = try settings.int("cache.l1.max-entries", default: 100_000, in: 16...100_000_000)
        let maximumBytes = try settings.int("cache.l1.max-bytes", default: 256 << 20, in: 1 << 16...(64 << 30))
        cache = MultiTierCache.Configuration(
            l1: L1Configuration(maximumEntries: maximumEntries, maximumBytes: maximumBytes),
            namespaces: namespaces,
            defaultPolicy: policy,
            l2RetryInterval: try settings.milliseconds("cache.l2-retry-ms", default: .seconds(1), in: 10...600_000),
            outageL1TTL: try settings.double("cache.outage-l1-ttl-seconds", default: 5, in: 0.001...3_600)
        )
        let key = try settings.symmetricKey("cache.encryption-key")
        cdnPurgeURL =
            settings.string("cache.cdn.purge-url") == nil
            ? nil : try settings.httpURL("cache.cdn.purge-url", default: "")
        cdnToken = try settings.secret("cache.cdn.token", minimumLength: 1)
        warmingFile = settings.string("cache.warming-file")
        codec = L2Codec(
            compressionThreshold: try settings.int("cache.compress-above-bytes", default: 1024, in: 0...Int.max),
            encryptionKey: key,
            maximumValueBytes: max(configuration.maxBodyBytes, 1 << 20)
        )
    }
}
