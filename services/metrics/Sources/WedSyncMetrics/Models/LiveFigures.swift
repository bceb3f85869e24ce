import Foundation
import WedSyncModels

/// What `GET /v1/stream` sends every few seconds, and the dashboard draws: the last minute, the last ten minutes
/// in 10-second points, the busiest routes, cache tiers, the database, alerts, budgets and the capacity forecast.
public struct LiveFigures: Codable, Sendable, Equatable {
    public var at: Date
    /// Every API route together over the last minute (`route` is `*`).
    public var overall: SeriesSummary
    /// Every API route together, 10-second points over the last ten minutes, oldest first.
    public var history: [LivePoint]
    /// The busiest API routes over the last five minutes.
    public var routes: [SeriesSummary]
    /// Cache lookups and hit ratio per tier over the last five minutes (`gateway` for the gateway's own cache).
    public var cacheTiers: [CacheTierFigure]
    public var database: DatabaseFigures
    /// Alerts pending, firing or just resolved.
    public var alerts: [Alert]
    public var budgets: [BudgetStatus]
    public var forecast: CapacityForecast?

    public init(
        at: Date,
        overall: SeriesSummary,
        history: [LivePoint],
        routes: [SeriesSummary],
        cacheTiers: [CacheTierFigure],
        database: DatabaseFigures,
        alerts: [Alert],
        budgets: [BudgetStatus],
        forecast: CapacityForecast?
    ) {
        self.at = at
        self.overall = overall
        self.history = history
        self.routes = routes
        self.cacheTiers = cacheTiers
        self.database = database
        self.alerts = alerts
        self.budgets = budgets
        self.forecast = forecast
    }
}

/// Ten seconds of every API route together.
public struct LivePoint: Codable, Sendable, Equatable {
    public var start: Date
    public var count: Int
    public var ratePerSecond: Double
    /// `nil` when nothing was answered in the ten seconds.
    public var p50Ms: Double?
    public var p95Ms: Double?
    public var p99Ms: Double?
    public var errorRate: Double?
    public var cacheHitRatio: Double?

    public init(
        start: Date,
        count: Int,
        ratePerSecond: Double,
        p50Ms: Double?,
        p95Ms: Double?,
        p99Ms: Double?,
        errorRate: Double?,
        cacheHitRatio: Double?
    ) {
        self.start = start
        self.count = count
        self.ratePerSecond = ratePerSecond
        self.p50Ms = p50Ms
        self.p95Ms = p95Ms
        self.p99Ms = p99Ms
        self.errorRate = errorRate
        self.cacheHitRatio = cacheHitRatio
    }
}

/// One cache tier (`L1`, `L2`, `gateway`) over every namespace.
public struct CacheTierFigure: Codable, Sendable, Equatable {
    /// `L1`, `L2`, `origin` (a cache's misses), or `responses` (the API calls' overall cache results).
    public var tier: String
    /// Whose tier: `gateway` (its response cache) or `cache` (the cache service's namespaces); `nil` for
    /// `responses`.
    public var source: String?
    /// Lookups that reached the tier (L2's are L1's misses); none for `origin`.
    public var lookups: Int
    /// The share of those lookups the tier answered.
    public var hitRatio: Double?
    /// Calls the tier answered, and their p95 (milliseconds).
    public var answered: Int?
    public var p95Ms: Double?

    public init(
        tier: String,
        source: String? = nil,
        lookups: Int,
        hitRatio: Double?,
        answered: Int? = nil,
        p95Ms: Double? = nil
    ) {
        self.tier = tier
        self.source = source
        self.lookups = lookups
        self.hitRatio = hitRatio
        self.answered = answered
        self.p95Ms = p95Ms
    }
}

/// Database statements over the last five minutes, and the connection pools' use.
public struct DatabaseFigures: Codable, Sendable, Equatable {
    public var ratePerSecond: Double
    public var p95Ms: Double?
    /// Connections in use over connections allowed, across the scraped services' pools (the highest); `nil` before
    /// anything was scraped.
    public var poolUtilisation: Double?
    /// The slowest statements by p95 (`route` is the fingerprint).
    public var slowest: [SeriesSummary]

    public init(ratePerSecond: Double, p95Ms: Double?, poolUtilisation: Double?, slowest: [SeriesSummary]) {
        self.ratePerSecond = ratePerSecond
        self.p95Ms = p95Ms
        self.poolUtilisation = poolUtilisation
        self.slowest = slowest
    }
}

extension LiveFigures: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "at": .string(format: "date-time"), "overall": .reference(SeriesSummary.openAPIName),
                "history": .array(.reference(LivePoint.openAPIName)),
                "routes": .array(.reference(SeriesSummary.openAPIName)),
                "cacheTiers": .array(.reference(CacheTierFigure.openAPIName)),
                "database": .reference(DatabaseFigures.openAPIName), "alerts": .array(.reference(Alert.openAPIName)),
                "budgets": .array(.reference(BudgetStatus.openAPIName)),
                "forecast": .reference(CapacityForecast.openAPIName),
            ],
            required: ["at", "overall", "history", "routes", "cacheTiers", "database", "alerts", "budgets"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] {
        [
            SeriesSummary.self, LivePoint.self, CacheTierFigure.self, DatabaseFigures.self, Alert.self,
            BudgetStatus.self, CapacityForecast.self,
        ]
    }
}

extension LivePoint: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "start": .string(format: "date-time"), "count": .integer(), "ratePerSecond": .number, "p50Ms": .number,
                "p95Ms": .number,
                "p99Ms": .number, "errorRate": .number, "cacheHitRatio": .number,
            ],
            required: ["start", "count", "ratePerSecond"]
        )
    }
}

extension CacheTierFigure: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "tier": .string(), "source": .string(enumeration: ["gateway", "cache"]), "lookups": .integer(),
                "hitRatio": .number, "answered": .integer(), "p95Ms": .number,
            ],
            required: ["tier", "lookups"]
        )
    }
}

extension DatabaseFigures: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "ratePerSecond": .number, "p95Ms": .number, "poolUtilisation": .number,
                "slowest": .array(.reference(SeriesSummary.openAPIName)),
            ],
            required: ["ratePerSecond", "slowest"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [SeriesSummary.self] }
}
