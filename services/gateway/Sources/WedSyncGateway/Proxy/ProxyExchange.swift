import WedSyncCacheKit

/// What one request went through, for the timing headers and the metrics.
struct ProxyExchange {
    let started = ContinuousClock.now
    /// Time spent looking in the cache.
    var cache: Duration?
    /// Time spent waiting for upstream response heads (every attempt).
    var upstream: Duration?
    /// The `x-cache` value: `HIT`, `STALE`, `REVALIDATED`, `MISS` or `BYPASS`.
    var result = "BYPASS"
    var tier: CacheTier?
    var tenant: String?
}
