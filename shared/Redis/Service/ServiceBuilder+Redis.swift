import WedSyncRedis
import WedSyncServiceKit

extension ServiceConfiguration {
    /// `redis.url`: one `redis://` URL, or several comma-separated seed nodes of a cluster, parsed. A
    /// `ConfigurationError` naming the key when it is not; the URL, which may hold a password, is never echoed.
    public func redisSeeds() throws(ConfigurationError) -> [RedisConfiguration] {
        do {
            return try RedisConfiguration.seeds(from: redisURL)
        } catch {
            throw ConfigurationError(key: "redis.url", message: error.message)
        }
    }
}

extension ServiceBuilder {
    /// The service's Redis client (`redis.url`), created once, for a single server. With several seed nodes it
    /// connects to the first; use ``redisRouting(critical:)`` for commands that must reach a cluster's right node.
    public func redis(critical: Bool = true) throws -> RedisClient {
        try dependency("redis") {
            let seeds = try configuration.redisSeeds()
            let client = RedisClient(
                configuration: seeds[0],
                poolConfiguration: configuration.redisPool,
                logger: logger
            )
            addService(client)
            addReadinessCheck(RedisReadinessCheck(client: client, critical: critical))
            let reporter = poolMetrics
            addMetricsCollector { reporter.report(client.statistics) }
            return client
        }
    }

    /// The service's Redis as a key router (`redis.url`), created once: a ``RedisClusterClient`` when
    /// `redis.cluster` is set or several seed nodes are given, otherwise the single server's ``redis(critical:)``.
    public func redisRouting(critical: Bool = true) throws -> any RedisKeyRouting {
        try dependency("redis-routing") { () throws -> any RedisKeyRouting in
            let seeds = try configuration.redisSeeds()
            guard try configuration.settings.bool("redis.cluster", default: seeds.count > 1) else {
                return try redis(critical: critical)
            }
            let cluster = RedisClusterClient(seeds: seeds, poolConfiguration: configuration.redisPool, logger: logger)
            addService(cluster)
            addReadinessCheck(
                ClosureReadinessCheck(name: "redis", critical: critical) {
                    try await cluster.ping()
                    return .up
                }
            )
            return cluster
        }
    }
}
