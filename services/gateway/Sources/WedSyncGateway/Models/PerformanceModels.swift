import Foundation
import WedSyncModels
import WedSyncServiceKit

/// `GET /api/performance/cache`: the gateway's response cache as the seeds' performance screen reads it.
public struct PerformanceCacheReport: Codable, Sendable, Equatable {
    /// Whether the gateway stores responses at all (`gateway.cache.enabled`); every figure is zero when not.
    public var enabled: Bool
    /// Lookups answered by L1 or L2, over all lookups.
    public var hitRatio: Double
    /// The median L1 lookup, in milliseconds.
    public var l1ResponseTime: Double
    /// The median L2 (Redis) lookup, in milliseconds.
    public var l2ResponseTime: Double
    public var lookups: Int
    /// L1, L2 and the origin: who answered how many lookups.
    public var tiers: [PerformanceTier]
    /// L1's entries, bytes and evictions now.
    public var entries: Int
    public var bytes: Int
    public var evictions: Int
    /// The entries L1's window (the recency side of its policy) may hold now, as its ghosts sized it.
    public var l1WindowEntries: Int
    public var l2Available: Bool
    public var at: Date

    public init(
        enabled: Bool,
        hitRatio: Double,
        l1ResponseTime: Double,
        l2ResponseTime: Double,
        lookups: Int,
        tiers: [PerformanceTier],
        entries: Int,
        bytes: Int,
        evictions: Int,
        l1WindowEntries: Int,
        l2Available: Bool,
        at: Date
    ) {
        self.enabled = enabled
        self.hitRatio = hitRatio
        self.l1ResponseTime = l1ResponseTime
        self.l2ResponseTime = l2ResponseTime
        self.lookups = lookups
        self.tiers = tiers
        self.entries = entries
        self.bytes = bytes
        self.evictions = evictions
        self.l1WindowEntries = l1WindowEntries
        self.l2Available = l2Available
        self.at = at
    }
}

/// One tier's share of the response cache's lookups.
public struct PerformanceTier: Codable, Sendable, Equatable {
    /// `L1`, `L2` or `origin` (the lookups neither tier answered).
    public var tier: String
    /// The lookups this tier answered.
    public var requests: Int
    /// Their share of all lookups.
    public var ratio: Double
    /// Lookup latency percentiles in milliseconds; none for the origin, whose times are the gateway's request
    /// metrics (`gateway_request_duration_seconds{cache="MISS"}`).
    public var p50Ms: Double?
    public var p99Ms: Double?

    public init(tier: String, requests: Int, ratio: Double, p50Ms: Double? = nil, p99Ms: Double? = nil) {
        self.tier = tier
        self.requests = requests
        self.ratio = ratio
        self.p50Ms = p50Ms
        self.p99Ms = p99Ms
    }
}

/// `GET /api/performance/health`: every service's readiness, gathered at once.
public struct PerformanceHealthReport: Codable, Sendable, Equatable {
    /// `ready` when everything is up; `degraded` when a service is degraded or down but the API is served;
    /// `unavailable` when no API replica serves.
    public var status: String
    /// The gateway, each upstream pool, and the cache, metrics and query optimizer services.
    public var services: [DependencyStatus]
    /// How long gathering took, in milliseconds.
    public var latencyMs: Double
    public var at: Date

    public init(status: String, services: [DependencyStatus], latencyMs: Double, at: Date) {
        self.status = status
        self.services = services
        self.latencyMs = latencyMs
        self.at = at
    }
}

extension PerformanceTier: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "tier": .string(enumeration: ["L1", "L2", "origin"]), "requests": .integer(minimum: 0),
                "ratio": .number(in: 0...1), "p50Ms": .number, "p99Ms": .number,
            ],
            required: ["tier", "requests", "ratio"]
        )
    }
}

extension PerformanceCacheReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "enabled": .boolean, "hitRatio": .number(in: 0...1),
                "l1ResponseTime": .described(.number, "median L1 lookup, ms"),
                "l2ResponseTime": .described(.number, "median L2 lookup, ms"), "lookups": .integer(minimum: 0),
                "tiers": .array(.reference(PerformanceTier.openAPIName)), "entries": .integer(minimum: 0),
                "bytes": .integer(minimum: 0), "evictions": .integer(minimum: 0),
                "l1WindowEntries": .integer(minimum: 0), "l2Available": .boolean,
                "at": .string(format: "date-time"),
            ],
            required: [
                "enabled", "hitRatio", "l1ResponseTime", "l2ResponseTime", "lookups", "tiers", "entries", "bytes",
                "evictions", "l1WindowEntries", "l2Available", "at",
            ]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [PerformanceTier.self] }
}

extension PerformanceHealthReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "status": .string(enumeration: ["ready", "degraded", "unavailable"]),
                "services": .array(.reference(DependencyStatus.openAPIName)), "latencyMs": .number,
                "at": .string(format: "date-time"),
            ],
            required: ["status", "services", "latencyMs", "at"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [DependencyStatus.self] }
}
