import Foundation

/// A request to drop cache entries, by key, by tag and by key prefix (any combination).
///
/// Keys and prefixes are cache addresses, `namespace/key` (`schedules/2026-06-13`, `schedules/2026-06`). The body
/// may give one prefix as `"prefix"` or several as `"prefixes"`.
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

    private enum CodingKeys: String, CodingKey {
        case keys, tags, prefixes, prefix, reason
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        keys = try container.decodeIfPresent([String].self, forKey: .keys) ?? []
        tags = try container.decodeIfPresent([String].self, forKey: .tags) ?? []
        prefixes = try container.decodeIfPresent([String].self, forKey: .prefixes) ?? []
        if let prefix = try container.decodeIfPresent(String.self, forKey: .prefix) { prefixes.append(prefix) }
        reason = try container.decodeIfPresent(String.self, forKey: .reason)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(keys, forKey: .keys)
        try container.encode(tags, forKey: .tags)
        try container.encode(prefixes, forKey: .prefixes)
        try container.encodeIfPresent(reason, forKey: .reason)
    }

    /// Whether the request names nothing to invalidate.
    public var isEmpty: Bool { keys.isEmpty && tags.isEmpty && prefixes.isEmpty }
}

/// What an invalidation did.
public struct InvalidationResult: Codable, Sendable, Equatable {
    public var invalidatedKeys: Int
    public var invalidatedTags: Int
    /// Entries removed by prefix (in L2; L1 removals are counted in the statistics).
    public var invalidatedByPrefix: Int
    /// Whether every process was told: false while Redis is unreachable (the invalidation is applied here and
    /// replayed to Redis and the other processes when it returns).
    public var propagated: Bool
    public var at: Date

    public init(invalidatedKeys: Int, invalidatedTags: Int, invalidatedByPrefix: Int, propagated: Bool, at: Date) {
        self.invalidatedKeys = invalidatedKeys
        self.invalidatedTags = invalidatedTags
        self.invalidatedByPrefix = invalidatedByPrefix
        self.propagated = propagated
        self.at = at
    }
}

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

    public init(tier: String, hits: Int, misses: Int, entries: Int? = nil, bytes: Int? = nil, evictions: Int? = nil, p50Micros: Double, p99Micros: Double) {
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
        namespace: String, lookups: Int, l1Hits: Int, l2Hits: Int, misses: Int, staleServed: Int, failSafeServed: Int,
        loads: Int, loadFailures: Int, writes: Int, hitRatio: Double, ttlSeconds: Double
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
        self.at = at
    }
}

/// A warming job to start (`POST /v1/warm`): fetch URLs and store what they answer, in the background.
///
/// Give the entries one of three ways (they may be combined): `requests` (each a key and its URL), `urls` (the key
/// is the URL's path and query), or `keys` with a `loaderURL` whose `{key}` is replaced by each key (URL-encoded).
/// `pattern` adds every key of the namespace already in L2 that matches the glob, refreshed through `loaderURL`.
public struct WarmRequest: Codable, Sendable, Equatable {
    public struct Item: Codable, Sendable, Equatable {
        public var key: String
        public var url: String
        /// Headers of this fetch alone, over the job's (a supplier's own `Authorization`).
        public var headers: [String: String]?

        public init(key: String, url: String, headers: [String: String]? = nil) {
            self.key = key
            self.url = url
            self.headers = headers
        }
    }

    public var namespace: String
    public var requests: [Item]?
    public var urls: [String]?
    public var keys: [String]?
    public var pattern: String?
    public var loaderURL: String?
    /// Headers sent with every fetch (e.g. a supplier's `Authorization`); never echoed back or logged.
    public var headers: [String: String]?
    /// Fetches at once (default 8, at most 64).
    public var concurrency: Int?
    /// Seconds the entries stay fresh; by default the response's `CDN-Cache-Control`/`Cache-Control` max-age, else
    /// the namespace's TTL.
    public var ttl: Double?
    /// A name for the job (a schedule's name when a schedule started it).
    public var name: String?

    public init(
        namespace: String, requests: [Item]? = nil, urls: [String]? = nil, keys: [String]? = nil, pattern: String? = nil,
        loaderURL: String? = nil, headers: [String: String]? = nil, concurrency: Int? = nil, ttl: Double? = nil, name: String? = nil
    ) {
        self.namespace = namespace
        self.requests = requests
        self.urls = urls
        self.keys = keys
        self.pattern = pattern
        self.loaderURL = loaderURL
        self.headers = headers
        self.concurrency = concurrency
        self.ttl = ttl
        self.name = name
    }

    private enum CodingKeys: String, CodingKey {
        case namespace, requests, urls, keys, pattern, loaderURL, headers, concurrency, ttl, name
    }

    /// `keys`, `pattern` and `loaderURL` are absent or a value, never null: which of them a request carries says
    /// what it asks for (keys and a pattern need a loader URL), so a null would leave that unsaid.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        for key in [CodingKeys.keys, .pattern, .loaderURL] where container.contains(key) {
            if try container.decodeNil(forKey: key) {
                throw DecodingError.valueNotFound(
                    String.self, .init(codingPath: container.codingPath + [key], debugDescription: "absent or a value, not null")
                )
            }
        }
        namespace = try container.decode(String.self, forKey: .namespace)
        requests = try container.decodeIfPresent([Item].self, forKey: .requests)
        urls = try container.decodeIfPresent([String].self, forKey: .urls)
        keys = try container.decodeIfPresent([String].self, forKey: .keys)
        pattern = try container.decodeIfPresent(String.self, forKey: .pattern)
        loaderURL = try container.decodeIfPresent(String.self, forKey: .loaderURL)
        headers = try container.decodeIfPresent([String: String].self, forKey: .headers)
        concurrency = try container.decodeIfPresent(Int.self, forKey: .concurrency)
        ttl = try container.decodeIfPresent(Double.self, forKey: .ttl)
        name = try container.decodeIfPresent(String.self, forKey: .name)
    }
}

/// A warming job's progress (`GET /v1/jobs/{id}`).
public struct WarmJob: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case queued, running, completed, cancelled, failed
    }

    public var id: String
    public var name: String?
    public var namespace: String
    public var state: State
    public var total: Int
    public var succeeded: Int
    public var failed: Int
    /// Bytes stored.
    public var bytes: Int
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Up to 10 failures, as `key: reason` (status codes and error kinds, never bodies or headers).
    public var errors: [String]

    public init(
        id: String, name: String?, namespace: String, state: State, total: Int, succeeded: Int = 0, failed: Int = 0, bytes: Int = 0,
        createdAt: Date, startedAt: Date? = nil, finishedAt: Date? = nil, errors: [String] = []
    ) {
        self.id = id
        self.name = name
        self.namespace = namespace
        self.state = state
        self.total = total
        self.succeeded = succeeded
        self.failed = failed
        self.bytes = bytes
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.errors = errors
    }

    /// Items done (stored or failed) over all items, 1 for an empty job.
    public var progress: Double { total == 0 ? 1 : Double(succeeded + failed) / Double(total) }
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
        kind: Kind, namespace: String? = nil, message: String, currentValue: Double? = nil, suggestedValue: Double? = nil,
        estimatedHitRatioGain: Double? = nil, keys: [String]? = nil
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
