/// Bounds and shape of an ``L1Cache``.
public struct L1Configuration: Sendable, Equatable {
    /// The fewest entries a shard holds: the configured shards are halved until each has this many, since a policy's
    /// lists over too few entries lose hits a single cache would keep.
    public static let minimumShardEntries = 1_024

    /// The most entries the cache holds, over all shards.
    public var maximumEntries: Int
    /// The most bytes of values (as the caller costs them) the cache holds, over all shards.
    public var maximumBytes: Int
    /// Independent shards, each behind its own lock, so that readers of different keys never wait for each other.
    /// A power of two; capacity is divided evenly between them.
    public var shards: Int
    /// Picks each key's shard and its counters in the frequency sketch by a hash of its bytes with this seed
    /// (``KeyHash``), the same in every process, instead of Swift's hash, which every process seeds at random: for
    /// simulations, which must give one answer for one trace. `nil` in the services.
    public var shardSeed: UInt64?

    public init(
        maximumEntries: Int = 100_000,
        maximumBytes: Int = 256 << 20,
        shards: Int = 16,
        shardSeed: UInt64? = nil
    ) {
        precondition(maximumEntries > 0 && maximumBytes > 0, "an L1 needs room for at least one entry")
        precondition(shards > 0 && shards & (shards - 1) == 0, "shards must be a power of two")
        self.maximumEntries = maximumEntries
        self.maximumBytes = maximumBytes
        self.shards = shards
        self.shardSeed = shardSeed
    }
}
