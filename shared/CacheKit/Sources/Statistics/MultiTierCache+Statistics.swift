import Atomics
import Foundation
import Logging
import Synchronization
import WedSyncModels

extension MultiTierCache {
    /// Counters per tier and per namespace, and read latency percentiles per tier.
    public func statistics() -> CacheStats {
        let namespaces = registry.all
        func sum(_ counter: (CacheNamespace) -> Int) -> Int { namespaces.reduce(0) { $0 + counter($1) } }
        let lookups = sum { $0.lookups.load(ordering: .relaxed) }
        let l1Hits = sum { $0.l1Hits.load(ordering: .relaxed) }
        let l2Hits = sum { $0.l2Hits.load(ordering: .relaxed) }
        let l2Lookups = sum { $0.l2Lookups.load(ordering: .relaxed) }
        let stale = sum { $0.staleServed.load(ordering: .relaxed) }
        let failSafe = sum { $0.failSafeServed.load(ordering: .relaxed) }
        let loads = sum { $0.loads.load(ordering: .relaxed) }
        let failures = sum { $0.loadFailures.load(ordering: .relaxed) }
        let l1 = l1.statistics
        let micros = { (histogram: LatencyHistogram, quantile: Double) in
            (histogram.quantile(quantile) / 10).rounded() / 100
        }
        let tiers = [
            CacheTierStats(
                tier: CacheTier.l1.rawValue,
                hits: l1Hits,
                misses: lookups - l1Hits,
                entries: l1.entries,
                bytes: l1.bytes,
                evictions: l1.evictions,
                p50Micros: micros(l1Latency, 0.5),
                p99Micros: micros(l1Latency, 0.99)
            ),
            CacheTierStats(
                tier: CacheTier.l2.rawValue,
                hits: l2Hits,
                misses: max(0, l2Lookups - l2Hits),
                p50Micros: micros(l2Latency, 0.5),
                p99Micros: micros(l2Latency, 0.99)
            ),
            CacheTierStats(
                tier: CacheTier.loader.rawValue,
                hits: loads - failures,
                misses: failures,
                p50Micros: micros(loaderLatency, 0.5),
                p99Micros: micros(loaderLatency, 0.99)
            ),
        ]
        return CacheStats(
            tiers: tiers,
            namespaces: namespaces.map { namespace in
                CacheNamespaceStats(
                    namespace: namespace.name,
                    lookups: namespace.lookups.load(ordering: .relaxed),
                    l1Hits: namespace.l1Hits.load(ordering: .relaxed),
                    l2Hits: namespace.l2Hits.load(ordering: .relaxed),
                    misses: namespace.misses.load(ordering: .relaxed),
                    staleServed: namespace.staleServed.load(ordering: .relaxed),
                    failSafeServed: namespace.failSafeServed.load(ordering: .relaxed),
                    loads: namespace.loads.load(ordering: .relaxed),
                    loadFailures: namespace.loadFailures.load(ordering: .relaxed),
                    writes: namespace.writes.load(ordering: .relaxed),
                    hitRatio: namespace.hitRatio,
                    ttlSeconds: namespace.policy.ttl
                )
            },
            loads: loads,
            loadFailures: failures,
            staleServed: stale,
            failSafeServed: failSafe,
            hitRatio: lookups == 0 ? 0 : min(1, Double(l1Hits + l2Hits + stale) / Double(lookups)),
            l2Available: isL2Available,
            backplaneLive: isBackplaneLive,
            sweptByPrefix: sweptByPrefix.load(ordering: .relaxed),
            at: Date(timeIntervalSince1970: now)
        )
    }
}
