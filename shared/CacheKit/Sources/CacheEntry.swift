import NIOCore

/// A cached value and what the cache knows about it, the same in every tier.
public struct CacheEntry: Sendable {
    /// The value's bytes, uncompressed and in clear.
    public var body: ByteBuffer
    public var contentType: String
    /// Tags the entry can be invalidated by (`client:42`, `org:1:clients`).
    public var tags: [String]
    /// The versions of ``tags`` when the entry was written; the entry is valid while they are current.
    public var tagVersions: [UInt64]
    /// When it was written, in seconds since 1970.
    public var createdAt: Double
    /// How long it is fresh.
    public var ttl: Double
    /// How long after ``ttl`` it may still be served while one refresh runs (stale-while-revalidate).
    public var staleGrace: Double
    /// How long after ``ttl`` it may be served when the loader fails or is too slow (fail-safe).
    public var failSafe: Double
    /// Rises on every write of the key.
    public var version: UInt64
    /// A remembered absence (negative caching): the loader said there is nothing under this key.
    public var isNegative: Bool
    /// The deployment's invalidation sequence number (``RedisL2Store``, `wsc:seq`) noted before the value was read
    /// or written: a prefix invalidation at a later number covering the entry's address makes it invalid.
    public var sequence: UInt64 = 0
    /// In L1 only: the local stamps of ``tags`` when the entry was stored (``TagVersions/TagState/stamp``); the
    /// entry is valid while they are unchanged.
    var tagStamps: [UInt64] = []
    /// In L1 only: the ``TagVersions/epoch`` at which the stamps were last found unchanged.
    var checkedEpoch: UInt64 = 0
    /// In L1 only: what a reader made of the entry the first time it found it there (a decoded or pre-rendered
    /// form, ``MultiTierCache/peekL1(_:memo:)``), kept with it until it is replaced or dropped.
    public internal(set) var memo: (any AnyObject & Sendable)?

    public init(
        body: ByteBuffer,
        contentType: String,
        tags: [String] = [],
        tagVersions: [UInt64] = [],
        createdAt: Double,
        ttl: Double,
        staleGrace: Double = 0,
        failSafe: Double = 0,
        version: UInt64 = 1,
        isNegative: Bool = false
    ) {
        self.body = body
        self.contentType = contentType
        self.tags = tags
        self.tagVersions = tagVersions
        self.createdAt = createdAt
        self.ttl = ttl
        self.staleGrace = staleGrace
        self.failSafe = failSafe
        self.version = version
        self.isNegative = isNegative
    }

    public var freshUntil: Double { createdAt + ttl }
    /// The last moment any tier may keep it: past every grace.
    public var retainUntil: Double { createdAt + ttl + max(staleGrace, failSafe) }

    public func isFresh(at now: Double) -> Bool { now < freshUntil }
    public func isServableStale(at now: Double) -> Bool { now < freshUntil + staleGrace }
    public func isFailSafe(at now: Double) -> Bool { now < freshUntil + failSafe }

    /// What the entry costs in L1: its bytes plus a fixed share for the bookkeeping.
    public var cost: Int {
        body.readableBytes + contentType.utf8.count + tags.reduce(0) { $0 + $1.utf8.count + 8 } + 96
    }
}

/// Which tier answered a read.
public enum CacheTier: String, Sendable, Codable, CaseIterable {
    case l1 = "L1"
    case l2 = "L2"
    /// Nobody had it: the loader produced it.
    case loader
}
