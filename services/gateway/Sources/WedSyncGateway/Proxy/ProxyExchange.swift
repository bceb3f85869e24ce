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
    /// A warming service's request: on `/metrics`, but not shipped to the metrics service (its misses and
    /// revalidations are no supplier's, and would weigh on the routes' figures and the tiers' hit ratios).
    var warming = false
}
