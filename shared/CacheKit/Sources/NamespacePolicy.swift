/// How the cache treats the entries of one namespace (`schedules`, `clients`, `gw`).
public struct NamespacePolicy: Sendable, Equatable {
    /// How long an entry is fresh when the writer does not say.
    public var ttl: Double
    /// The longest TTL a writer may ask for.
    public var maximumTTL: Double
    /// How long past its TTL an entry may be served while one background refresh runs (0: never).
    public var staleWhileRevalidate: Double
    /// How long past its TTL an entry may be served when the loader fails or exceeds ``softTimeout`` (0: never).
    public var failSafe: Double
    /// How long to remember that the loader found nothing; `nil` turns negative caching off.
    public var negativeTTL: Double?
    /// How long a read waits for the loader when it has an old value to fall back on.
    public var softTimeout: Duration
    /// Refresh an entry read in the last share of its TTL before it expires (0: off), so hot entries never miss.
    public var eagerRefreshShare: Double
    /// Whether entries live in L1 at all (off for values that must always come from the shared tier).
    public var useL1: Bool
    /// Whether a miss takes a short Redis lease first, so that one process of all loads the key while the others
    /// wait for its value in L2 (for loaders too costly to run once per process).
    public var distributedLoadLock: Bool
    /// How long the lease lasts, and how long the others wait for the value before loading it themselves.
    public var loadLease: Duration

    public init(
        ttl: Double = 300,
        maximumTTL: Double = 86_400,
        staleWhileRevalidate: Double = 30,
        failSafe: Double = 3_600,
        negativeTTL: Double? = nil,
        softTimeout: Duration = .milliseconds(500),
        eagerRefreshShare: Double = 0.1,
        useL1: Bool = true,
        distributedLoadLock: Bool = false,
        loadLease: Duration = .seconds(2)
    ) {
        self.ttl = ttl
        self.maximumTTL = maximumTTL
        self.staleWhileRevalidate = staleWhileRevalidate
        self.failSafe = failSafe
        self.negativeTTL = negativeTTL
        self.softTimeout = softTimeout
        self.eagerRefreshShare = eagerRefreshShare
        self.useL1 = useL1
        self.distributedLoadLock = distributedLoadLock
        self.loadLease = loadLease
    }
}
