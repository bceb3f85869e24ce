import Atomics
import Foundation
import Synchronization
import WedSyncModels

extension MultiTierCache {
    /// Thresholds below which a rule stays silent: too little data to say anything.
    enum RecommendationThreshold {
        static let lookups = 50
        static let misses = 20
        static let hits = 100
        static let warmRepeats = 3
    }

    /// Changes the statistics argue for: TTLs to raise or lower, L1 to grow (with the hit ratio it would gain),
    /// keys to warm, namespaces that are never hit.
    public func recommendations() -> CacheRecommendations {
        let statistics = self.statistics()
        var recommendations: [CacheRecommendation] = []
        for namespace in registry.all {
            recommendations += Self.recommendations(for: namespace)
        }
        let l1 = self.l1.statistics
        let lookups = statistics.tiers.first { $0.tier == CacheTier.l1.rawValue }.map { $0.hits + $0.misses } ?? 0
        let fullness = max(
            Double(l1.entries) / Double(configuration.l1.maximumEntries),
            Double(l1.bytes) / Double(configuration.l1.maximumBytes)
        )
        if lookups >= RecommendationThreshold.lookups, fullness >= 0.9 {
            let gain = Double(l1.ghostHits) / Double(lookups)
            if gain >= 0.01 {
                recommendations.append(
                    CacheRecommendation(
                        kind: .growL1,
                        message: String(
                            format:
                                "L1 is %.0f%% full and %.1f%% of lookups asked for keys it had just evicted: doubling it to %d entries would turn them into hits.",
                            fullness * 100,
                            gain * 100,
                            configuration.l1.maximumEntries * 2
                        ),
                        currentValue: Double(configuration.l1.maximumEntries),
                        suggestedValue: Double(configuration.l1.maximumEntries * 2),
                        estimatedHitRatioGain: gain
                    )
                )
            }
        }
        return CacheRecommendations(
            recommendations: recommendations,
            lookups: lookups,
            hitRatio: statistics.hitRatio,
            at: Date(timeIntervalSince1970: now)
        )
    }

    static func recommendations(for namespace: CacheNamespace) -> [CacheRecommendation] {
        func load(_ counter: ManagedAtomic<Int>) -> Int { counter.load(ordering: .relaxed) }
        let lookups = load(namespace.lookups)
        let misses = load(namespace.misses)
        let hits = load(namespace.l1Hits) + load(namespace.l2Hits) + load(namespace.staleServed)
        let writes = load(namespace.writes)
        let expired = load(namespace.expiredMisses)
        let l1Hits = load(namespace.l1Hits)
        let late = load(namespace.lateHits)
        let policy = namespace.policy
        var found: [CacheRecommendation] = []

        if lookups >= RecommendationThreshold.lookups, misses >= RecommendationThreshold.misses,
            Double(expired) >= 0.5 * Double(misses),
            policy.ttl < policy.maximumTTL
        {
            let suggested = min(policy.maximumTTL, policy.ttl * 2)
            found.append(
                CacheRecommendation(
                    kind: .raiseTTL,
                    namespace: namespace.name,
                    message: String(
                        format:
                            "%d of %d misses were values that had only expired: raise the TTL from %.0f s to %.0f s.",
                        expired,
                        misses,
                        policy.ttl,
                        suggested
                    ),
                    currentValue: policy.ttl,
                    suggestedValue: suggested,
                    estimatedHitRatioGain: Double(expired) / Double(lookups) / 2
                )
            )
        } else if hits == 0, lookups >= RecommendationThreshold.lookups || writes >= RecommendationThreshold.lookups {
            found.append(
                CacheRecommendation(
                    kind: .neverHit,
                    namespace: namespace.name,
                    message:
                        "\(lookups) lookups and \(writes) writes, and not one hit: every key is asked for once, or keys vary where they should not. Stop caching it or fix its keys."
                )
            )
            return found
        } else if l1Hits >= RecommendationThreshold.hits, Double(late) < 0.02 * Double(l1Hits), policy.ttl >= 60 {
            let suggested = (policy.ttl / 2).rounded()
            found.append(
                CacheRecommendation(
                    kind: .lowerTTL,
                    namespace: namespace.name,
                    message: String(
                        format:
                            "Only %d of %d hits came in the second half of an entry's life: lower the TTL from %.0f s to %.0f s to free memory without losing hits.",
                        late,
                        l1Hits,
                        policy.ttl,
                        suggested
                    ),
                    currentValue: policy.ttl,
                    suggestedValue: suggested,
                    estimatedHitRatioGain: 0
                )
            )
        }
        let hot = namespace.hotKeys.withLock { $0.top(10, minimum: RecommendationThreshold.warmRepeats) }
        if !hot.isEmpty {
            found.append(
                CacheRecommendation(
                    kind: .warmKeys,
                    namespace: namespace.name,
                    message:
                        "\(hot.count) keys were loaded \(RecommendationThreshold.warmRepeats) or more times each (up to \(hot[0].count)): warm them (POST /v1/warm) before they are asked for.",
                    keys: hot.map(\.item)
                )
            )
        }
        return found
    }
}
