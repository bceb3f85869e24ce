import Foundation
import WedSyncModels

/// Counters and latency of one cache tier.
public struct CacheTierStats: Codable, Sendable, Equatable {
    /// `L1`, `L2` or `loader`.
    public var tier: String
    public var hits: Int
    public var misses: Int
    /// Entries held (L1 only; L2 does not count its keys).
    public var entries: Int?
    public var bytes: Int?
    public var evictions: Int?
    /// Read latency percentiles of this tier, in microseconds.
    public var p50Micros: Double
    public var p99Micros: Double

    public init(
        tier: String,
        hits: Int,
        misses: Int,
        entries: Int? = nil,
        bytes: Int? = nil,
        evictions: Int? = nil,
        p50Micros: Double,
        p99Micros: Double
    ) {
        self.tier = tier
        self.hits = hits
        self.misses = misses
        self.entries = entries
        self.bytes = bytes
        self.evictions = evictions
        self.p50Micros = p50Micros
        self.p99Micros = p99Micros
    }

    /// Hits over lookups, 0 when there were none.
    public var hitRatio: Double {
        let lookups = hits + misses
        return lookups == 0 ? 0 : Double(hits) / Double(lookups)
    }
}

/// The counters of one namespace.
public struct CacheNamespaceStats: Codable, Sendable, Equatable {
    public var namespace: String
    public var lookups: Int
    public var l1Hits: Int
    public var l2Hits: Int
    public var misses: Int
    public var staleServed: Int
    public var failSafeServed: Int
    public var loads: Int
    public var loadFailures: Int
    public var writes: Int
    /// Requests answered by a tier over all requests of the namespace.
    public var hitRatio: Double
    /// The namespace's configured TTL, in seconds.
    public var ttlSeconds: Double

    public init(
        namespace: String,
        lookups: Int,
        l1Hits: Int,
        l2Hits: Int,
        misses: Int,
        staleServed: Int,
        failSafeServed: Int,
        loads: Int,
        loadFailures: Int,
        writes: Int,
        hitRatio: Double,
        ttlSeconds: Double
    ) {
        self.namespace = namespace
        self.lookups = lookups
        self.l1Hits = l1Hits
        self.l2Hits = l2Hits
        self.misses = misses
        self.staleServed = staleServed
        self.failSafeServed = failSafeServed
        self.loads = loads
        self.loadFailures = loadFailures
        self.writes = writes
        self.hitRatio = hitRatio
        self.ttlSeconds = ttlSeconds
    }
}

/// The statistics of a cache, per tier, per namespace and overall.
public struct CacheStats: Codable, Sendable, Equatable {
    public var tiers: [CacheTierStats]
    public var namespaces: [CacheNamespaceStats]
    public var loads: Int
    public var loadFailures: Int
    public var staleServed: Int
    public var failSafeServed: Int
    /// Overall hit ratio: requests answered by any tier over all requests.
    public var hitRatio: Double
    /// Whether L2 is reachable and the invalidation backplane subscribed.
    public var l2Available: Bool
    public var backplaneLive: Bool
    /// L2 entries deleted by the background sweeps of invalidated prefixes.
    public var sweptByPrefix: Int
    public var at: Date

    public init(
        tiers: [CacheTierStats],
        namespaces: [CacheNamespaceStats],
        loads: Int,
        loadFailures: Int,
        staleServed: Int,
        failSafeServed: Int,
        hitRatio: Double,
        l2Available: Bool,
        backplaneLive: Bool,
        sweptByPrefix: Int = 0,
        at: Date
    ) {
        self.tiers = tiers
        self.namespaces = namespaces
        self.loads = loads
        self.loadFailures = loadFailures
        self.staleServed = staleServed
        self.failSafeServed = failSafeServed
        self.hitRatio = hitRatio
        self.l2Available = l2Available
        self.backplaneLive = backplaneLive
        self.sweptByPrefix = sweptByPrefix
        self.at = at
    }
}

/// One change the cache's own statistics argue for (`GET /v1/recommendations`).
public struct CacheRecommendation: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// Most misses are values that had just expired: a longer TTL keeps them.
        case raiseTTL = "raise-ttl"
        /// Entries are read only early in their life: a shorter TTL frees memory and loses no hits.
        case lowerTTL = "lower-ttl"
        /// L1 is full and recently evicted keys keep being asked for: a larger L1 would hit them.
        case growL1 = "grow-l1"
        /// Keys that miss again and again: warm them before they are asked for.
        case warmKeys = "warm-keys"
        /// Lookups or writes, and no hit at all: the namespace's caching does nothing.
        case neverHit = "never-hit"
    }

    public var kind: Kind
    public var namespace: String?
    /// What to do and why, with the figures.
    public var message: String
    public var currentValue: Double?
    public var suggestedValue: Double?
    /// The share of lookups the change could turn into hits, when it can be estimated.
    public var estimatedHitRatioGain: Double?
    public var keys: [String]?

    public init(
        kind: Kind,
        namespace: String? = nil,
        message: String,
        currentValue: Double? = nil,
        suggestedValue: Double? = nil,
        estimatedHitRatioGain: Double? = nil,
        keys: [String]? = nil
    ) {
        self.kind = kind
        self.namespace = namespace
        self.message = message
        self.currentValue = currentValue
        self.suggestedValue = suggestedValue
        self.estimatedHitRatioGain = estimatedHitRatioGain
        self.keys = keys
    }
}

/// The recommendations and the data they rest on.
public struct CacheRecommendations: Codable, Sendable, Equatable {
    public var recommendations: [CacheRecommendation]
    public var lookups: Int
    public var hitRatio: Double
    public var at: Date

    public init(recommendations: [CacheRecommendation], lookups: Int, hitRatio: Double, at: Date) {
        self.recommendations = recommendations
        self.lookups = lookups
        self.hitRatio = hitRatio
        self.at = at
    }
}

extension CacheTierStats: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "tier": .string(enumeration: ["L1", "L2", "loader"]), "hits": .integer(), "misses": .integer(),
                "entries": .integer(), "bytes": .integer(), "evictions": .integer(),
                "p50Micros": .number, "p99Micros": .number,
            ],
            required: ["tier", "hits", "misses", "p50Micros", "p99Micros"]
        )
    }
}

extension CacheNamespaceStats: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "namespace": .string(), "lookups": .integer(), "l1Hits": .integer(), "l2Hits": .integer(),
                "misses": .integer(), "staleServed": .integer(), "failSafeServed": .integer(), "loads": .integer(),
                "loadFailures": .integer(), "writes": .integer(), "hitRatio": .number, "ttlSeconds": .number,
            ],
            required: ["namespace", "lookups", "l1Hits", "l2Hits", "misses", "hitRatio", "ttlSeconds"]
        )
    }
}

extension CacheStats: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "tiers": .array(.reference(CacheTierStats.openAPIName)),
                "namespaces": .array(.reference(CacheNamespaceStats.openAPIName)),
                "loads": .integer(), "loadFailures": .integer(), "staleServed": .integer(),
                "failSafeServed": .integer(),
                "hitRatio": .number, "l2Available": .boolean, "backplaneLive": .boolean, "sweptByPrefix": .integer(),
                "at": .string(format: "date-time"),
            ],
            required: ["tiers", "namespaces", "hitRatio", "l2Available", "backplaneLive", "at"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] {
        [CacheTierStats.self, CacheNamespaceStats.self]
    }
}

extension CacheRecommendation: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "kind": .string(enumeration: ["raise-ttl", "lower-ttl", "grow-l1", "warm-keys", "never-hit"]),
                "namespace": .string(), "message": .string(), "currentValue": .number, "suggestedValue": .number,
                "estimatedHitRatioGain": .number, "keys": .array(.string()),
            ],
            required: ["kind", "message"]
        )
    }
}

extension CacheRecommendations: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "recommendations": .array(.reference(CacheRecommendation.openAPIName)),
                "lookups": .integer(), "hitRatio": .number, "at": .string(format: "date-time"),
            ],
            required: ["recommendations", "lookups", "hitRatio", "at"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [CacheRecommendation.self] }
}
