import Foundation

/// The metadata a cache entry carries in every tier.
public struct CacheEntryMetadata: Codable, Sendable, Equatable {
    public var key: String
    public var namespace: String
    public var tags: [String]
    public var createdAt: Date
    public var ttlSeconds: Double
    /// Bumped on every write of the key, so a reader can tell two values of one key apart.
    public var version: Int
    public var contentType: String
    public var compressed: Bool
    public var sizeBytes: Int

    public init(
        key: String,
        namespace: String,
        tags: [String] = [],
        createdAt: Date,
        ttlSeconds: Double,
        version: Int = 1,
        contentType: String = "application/json",
        compressed: Bool = false,
        sizeBytes: Int
    ) {
        self.key = key
        self.namespace = namespace
        self.tags = tags
        self.createdAt = createdAt
        self.ttlSeconds = ttlSeconds
        self.version = version
        self.contentType = contentType
        self.compressed = compressed
        self.sizeBytes = sizeBytes
    }

    /// When the entry stops being fresh.
    public var expiresAt: Date { createdAt.addingTimeInterval(ttlSeconds) }
}

/// A request to drop cache entries, by key, by tag and by key prefix (any combination).
public struct InvalidationRequest: Codable, Sendable, Equatable {
    public var keys: [String]
    public var tags: [String]
    public var prefixes: [String]
    /// Why, for the audit log (`"client 42 updated"`); never personal data.
    public var reason: String?

    public init(keys: [String] = [], tags: [String] = [], prefixes: [String] = [], reason: String? = nil) {
        self.keys = keys
        self.tags = tags
        self.prefixes = prefixes
        self.reason = reason
    }

    /// Whether the request names nothing to invalidate.
    public var isEmpty: Bool { keys.isEmpty && tags.isEmpty && prefixes.isEmpty }
}

/// What an invalidation did.
public struct InvalidationResult: Codable, Sendable, Equatable {
    public var invalidatedKeys: Int
    public var invalidatedTags: Int
    public var invalidatedPrefixes: Int
    public var at: Date

    public init(invalidatedKeys: Int, invalidatedTags: Int, invalidatedPrefixes: Int, at: Date) {
        self.invalidatedKeys = invalidatedKeys
        self.invalidatedTags = invalidatedTags
        self.invalidatedPrefixes = invalidatedPrefixes
        self.at = at
    }
}

/// Counters of one cache tier.
public struct CacheTierStats: Codable, Sendable, Equatable {
    /// `L1`, `L2` or `L3`.
    public var tier: String
    public var hits: Int
    public var misses: Int
    public var entries: Int
    public var bytes: Int
    public var evictions: Int

    public init(tier: String, hits: Int, misses: Int, entries: Int, bytes: Int, evictions: Int) {
        self.tier = tier
        self.hits = hits
        self.misses = misses
        self.entries = entries
        self.bytes = bytes
        self.evictions = evictions
    }

    /// Hits over lookups, 0 when there were none.
    public var hitRatio: Double {
        let lookups = hits + misses
        return lookups == 0 ? 0 : Double(hits) / Double(lookups)
    }
}

/// The statistics of a cache, per tier and overall.
public struct CacheStats: Codable, Sendable, Equatable {
    public var tiers: [CacheTierStats]
    public var loaderCalls: Int
    public var staleServed: Int
    public var failSafeServed: Int
    /// Overall hit ratio: requests answered by any tier over all requests.
    public var hitRatio: Double
    public var at: Date

    public init(
        tiers: [CacheTierStats],
        loaderCalls: Int,
        staleServed: Int,
        failSafeServed: Int,
        hitRatio: Double,
        at: Date
    ) {
        self.tiers = tiers
        self.loaderCalls = loaderCalls
        self.staleServed = staleServed
        self.failSafeServed = failSafeServed
        self.hitRatio = hitRatio
        self.at = at
    }
}
