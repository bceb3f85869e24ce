import Foundation
import WedSyncModels

/// One series over a range: an API route and method (`kind` `api`), a statement (`db`) or a cache namespace (`cache`).
public struct SeriesSummary: Codable, Sendable, Equatable {
    public var kind: String
    /// The route template, statement fingerprint, or `namespace/tier`.
    public var route: String
    public var method: String
    public var count: Int
    public var ratePerSecond: Double
    public var p50Ms: Double
    public var p95Ms: Double
    public var p99Ms: Double
    public var maxMs: Double
    /// 5xx answers over all answers (API calls).
    public var errorRate: Double
    /// Cache hits over cache lookups; `nil` when nothing was looked up.
    public var cacheHitRatio: Double?

    public init(
        kind: String,
        route: String,
        method: String,
        count: Int,
        ratePerSecond: Double,
        p50Ms: Double,
        p95Ms: Double,
        p99Ms: Double,
        maxMs: Double,
        errorRate: Double,
        cacheHitRatio: Double?
    ) {
        self.kind = kind
        self.route = route
        self.method = method
        self.count = count
        self.ratePerSecond = ratePerSecond
        self.p50Ms = p50Ms
        self.p95Ms = p95Ms
        self.p99Ms = p99Ms
        self.maxMs = maxMs
        self.errorRate = errorRate
        self.cacheHitRatio = cacheHitRatio
    }
}

/// `GET /v1/summary?range=`: every series over the range, busiest first; and each cache tier's figures (the
/// gateway's and the cache service's L1, L2 and origin, from their `cache` series).
public struct MetricsSummary: Codable, Sendable, Equatable {
    public var range: String
    public var from: Date
    public var to: Date
    public var series: [SeriesSummary]
    public var cacheTiers: [CacheTierFigure]

    public init(range: String, from: Date, to: Date, series: [SeriesSummary], cacheTiers: [CacheTierFigure] = []) {
        self.range = range
        self.from = from
        self.to = to
        self.series = series
        self.cacheTiers = cacheTiers
    }
}

/// One point of `GET /v1/series`: the value of the metric over `[start, start + step)`.
public struct SeriesPoint: Codable, Sendable, Equatable {
    public var start: Date
    public var value: Double?
    public var count: Int

    public init(start: Date, value: Double?, count: Int) {
        self.start = start
        self.value = value
        self.count = count
    }
}

/// `GET /v1/series?metric=&route=&range=&step=`.
public struct MetricSeries: Codable, Sendable, Equatable {
    public var metric: String
    public var route: String
    public var stepSeconds: Int
    public var points: [SeriesPoint]

    public init(metric: String, route: String, stepSeconds: Int, points: [SeriesPoint]) {
        self.metric = metric
        self.route = route
        self.stepSeconds = stepSeconds
        self.points = points
    }
}

extension SeriesSummary: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "kind": .described(.string(), "api, db or cache"), "route": .string(), "method": .string(),
                "count": .integer(),
                "ratePerSecond": .number, "p50Ms": .number, "p95Ms": .number, "p99Ms": .number, "maxMs": .number,
                "errorRate": .number, "cacheHitRatio": .number,
            ],
            required: [
                "kind", "route", "method", "count", "ratePerSecond", "p50Ms", "p95Ms", "p99Ms", "maxMs", "errorRate",
            ]
        )
    }
}

extension MetricsSummary: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "range": .string(), "from": .string(format: "date-time"), "to": .string(format: "date-time"),
                "series": .array(.reference(SeriesSummary.openAPIName)),
                "cacheTiers": .array(.reference(CacheTierFigure.openAPIName)),
            ],
            required: ["range", "from", "to", "series", "cacheTiers"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] {
        [SeriesSummary.self, CacheTierFigure.self]
    }
}

extension SeriesPoint: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["start": .string(format: "date-time"), "value": .number, "count": .integer()],
            required: ["start", "count"]
        )
    }
}

extension MetricSeries: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "metric": .string(), "route": .string(), "stepSeconds": .integer(),
                "points": .array(.reference(SeriesPoint.openAPIName)),
            ],
            required: ["metric", "route", "stepSeconds", "points"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [SeriesPoint.self] }
}
