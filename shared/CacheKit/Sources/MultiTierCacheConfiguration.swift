import Foundation
import WedSyncRedis

extension MultiTierCache {
    /// Everything a ``MultiTierCache`` is built from.
    public struct Configuration: Sendable {
        public var l1: L1Configuration
        /// Policies of named namespaces; others get ``defaultPolicy``.
        public var namespaces: [String: NamespacePolicy]
        public var defaultPolicy: NamespacePolicy
        /// The most namespaces kept (names come from callers).
        public var maximumNamespaces: Int
        /// Default TTLs are shortened by a random share up to this, so entries written together do not expire
        /// together.
        public var ttlJitter: Double
        /// After an L2 failure, how long to go on without L2 before trying it again.
        public var l2RetryInterval: Duration
        /// While the backplane is down, the longest an entry stays in L1 (it cannot hear invalidations).
        public var outageL1TTL: Double
        /// Background refreshes running at once.
        public var backgroundConcurrency: Int
        /// The backplane's connection; `nil` runs without one (a single process, or no Redis at all).
        public var backplane: RedisConfiguration?
        /// Other nodes the backplane may subscribe on when `backplane` cannot be reached (a cluster's other seeds).
        public var backplaneFallbacks: [RedisConfiguration] = []
        /// Seconds since 1970; replaceable so tests can move time.
        public var clock: @Sendable () -> Double

        public init(
            l1: L1Configuration = .init(),
            namespaces: [String: NamespacePolicy] = [:],
            defaultPolicy: NamespacePolicy = .init(),
            maximumNamespaces: Int = 1024,
            ttlJitter: Double = 0.1,
            l2RetryInterval: Duration = .seconds(1),
            outageL1TTL: Double = 5,
            backgroundConcurrency: Int = 8,
            backplane: RedisConfiguration? = nil,
            clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
        ) {
            self.l1 = l1
            self.namespaces = namespaces
            self.defaultPolicy = defaultPolicy
            self.maximumNamespaces = maximumNamespaces
            self.ttlJitter = ttlJitter
            self.l2RetryInterval = l2RetryInterval
            self.outageL1TTL = outageL1TTL
            self.backgroundConcurrency = backgroundConcurrency
            self.backplane = backplane
            self.clock = clock
        }
    }
}
