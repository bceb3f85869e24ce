import NIOCore

/// What a loader produced for a missing key: the value and how to cache it.
public struct CacheLoad: Sendable {
    public var body: ByteBuffer
    public var contentType: String
    public var tags: [String]
    /// Overrides the namespace's TTL (capped at its maximum).
    public var ttl: Double?

    public init(body: ByteBuffer, contentType: String = "application/json", tags: [String] = [], ttl: Double? = nil) {
        self.body = body
        self.contentType = contentType
        self.tags = tags
        self.ttl = ttl
    }
}

/// Produces the value of a missing key; `nil` means there is nothing under it (cached as such when the namespace
/// caches negatives). Runs once per key at a time, however many callers miss together.
public typealias CacheLoader = @Sendable () async throws -> CacheLoad?

/// How a read was answered.
public struct CacheLookup: Sendable {
    /// Whether the value is fresh, served stale while a refresh runs, or served past its time because the loader
    /// failed or was too slow.
    public enum State: String, Sendable {
        case fresh
        case stale
        case failSafe
    }

    public var entry: CacheEntry
    public var tier: CacheTier
    public var state: State

    /// A remembered absence: the loader said there is nothing under the key.
    public var isNegative: Bool { entry.isNegative }
}

/// The outcome of one load, shared by every caller that waited for it.
enum LoadOutcome: Sendable {
    /// The value, and whether it was committed (stored in L1 and checked against every invalidation).
    case value(CacheEntry, committed: Bool)
    /// Nothing under the key; the negative entry when the namespace caches negatives.
    case absent(CacheEntry?)
    case failed
}
