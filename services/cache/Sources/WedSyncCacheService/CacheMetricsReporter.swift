import Metrics
import WedSyncCacheKit
import WedSyncModels
import WedSyncServiceKit

/// Publishes the cache's statistics on `/metrics` at each scrape: per namespace and tier hits, misses, stale and
/// fail-safe serves, loads and failures as counters; entries, bytes, hit ratio, read latency and the health of L2
/// and the backplane as gauges. Namespace names are bounded by ``MultiTierCache/Configuration/maximumNamespaces``.
struct CacheMetricsReporter: Sendable {
    let cache: MultiTierCache
    let totals = TotalsReporter()

    func report() {
        let statistics = cache.statistics()
        for namespace in statistics.namespaces {
            let dimensions = [("namespace", namespace.namespace)]
            totals.report("wedsync_cache_lookups_total", dimensions: dimensions, total: namespace.lookups)
            totals.report(
                "wedsync_cache_hits_total",
                dimensions: dimensions + [("tier", "L1")],
                total: namespace.l1Hits
            )
            totals.report(
                "wedsync_cache_hits_total",
                dimensions: dimensions + [("tier", "L2")],
                total: namespace.l2Hits
            )
            totals.report("wedsync_cache_misses_total", dimensions: dimensions, total: namespace.misses)
            totals.report("wedsync_cache_stale_served_total", dimensions: dimensions, total: namespace.staleServed)
            totals.report(
                "wedsync_cache_fail_safe_served_total",
                dimensions: dimensions,
                total: namespace.failSafeServed
            )
            totals.report("wedsync_cache_loads_total", dimensions: dimensions, total: namespace.loads)
            totals.report("wedsync_cache_load_failures_total", dimensions: dimensions, total: namespace.loadFailures)
            totals.report("wedsync_cache_writes_total", dimensions: dimensions, total: namespace.writes)
        }
        for tier in statistics.tiers {
            let dimensions = [("tier", tier.tier)]
            Gauge(label: "wedsync_cache_read_p50_seconds", dimensions: dimensions).record(tier.p50Micros / 1_000_000)
            Gauge(label: "wedsync_cache_read_p99_seconds", dimensions: dimensions).record(tier.p99Micros / 1_000_000)
            if let entries = tier.entries {
                Gauge(label: "wedsync_cache_entries", dimensions: dimensions).record(entries)
            }
            if let bytes = tier.bytes { Gauge(label: "wedsync_cache_bytes", dimensions: dimensions).record(bytes) }
            if let evictions = tier.evictions {
                totals.report("wedsync_cache_evictions_total", dimensions: dimensions, total: evictions)
            }
        }
        Gauge(label: "wedsync_cache_hit_ratio").record(statistics.hitRatio)
        Gauge(label: "wedsync_cache_l2_up").record(statistics.l2Available ? 1 : 0)
        Gauge(label: "wedsync_cache_backplane_up").record(statistics.backplaneLive ? 1 : 0)
    }
}
