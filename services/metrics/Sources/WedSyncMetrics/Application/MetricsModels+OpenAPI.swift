import WedSyncModels
import WedSyncServiceKit

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
            ],
            required: ["range", "from", "to", "series"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [SeriesSummary.self] }
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

extension Alert: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "name": .string(), "state": .described(.string(), "inactive, pending, firing or resolved"),
                "severity": .string(),
                "labels": .object([:], required: []), "annotations": .object([:], required: []), "value": .number,
                "startsAt": .string(format: "date-time"), "endsAt": .string(format: "date-time"),
            ],
            required: ["name", "state", "severity", "labels", "annotations", "value", "startsAt"]
        )
    }
}

extension NotificationRecord: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "id": .integer(), "receiver": .string(), "channel": .string(), "alertName": .string(),
                "status": .string(), "alerts": .integer(),
                "attempts": .integer(), "delivered": .boolean, "lastError": .string(),
                "createdAt": .string(format: "date-time"),
                "updatedAt": .string(format: "date-time"),
            ],
            required: [
                "id", "receiver", "channel", "alertName", "status", "alerts", "attempts", "delivered", "createdAt",
                "updatedAt",
            ]
        )
    }
}

extension Silence: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "id": .string(), "matchers": .object([:], required: []), "startsAt": .string(format: "date-time"),
                "endsAt": .string(format: "date-time"), "createdBy": .string(), "comment": .string(),
            ],
            required: ["id", "matchers", "startsAt", "endsAt", "createdBy", "comment"]
        )
    }
}

extension SilenceRequest: OpenAPISchemaProviding {
    /// A matcher's label, a matcher's value, and the author and comment.
    static let labelRule = TextRule.name(100)
    static let valueRule = TextRule(0...1_000)
    static let textRule = TextRule.freeText(1_000)

    public static var openAPISchema: JSONSchema {
        .object(
            [
                "matchers": .described(
                    .constrained(
                        .map(valueRule.schema),
                        ["minProperties": 1, "maxProperties": 100, "propertyNames": labelRule.schema.json]
                    ),
                    "label=value pairs; alertname is the rule"
                ),
                "startsAt": .nullable(.requestDateTime), "endsAt": .requestDateTime, "createdBy": textRule.schema,
                "comment": textRule.schema,
            ],
            required: ["matchers", "endsAt", "createdBy", "comment"]
        )
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
        .object(["tier": .string(), "lookups": .integer(), "hitRatio": .number], required: ["tier", "lookups"])
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

extension BudgetCheck: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "metric": .described(.string(), "p95, p99 (milliseconds) or error_rate (a share)"), "limit": .number,
                "value": .number,
                "status": .described(.string(), "ok, breached or no_data"),
            ],
            required: ["metric", "limit", "status"]
        )
    }
}

extension BudgetStatus: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "route": .string(), "method": .string(), "status": .described(.string(), "ok, breached or no_data"),
                "count": .integer(),
                "checks": .array(.reference(BudgetCheck.openAPIName)),
            ],
            required: ["route", "status", "count", "checks"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [BudgetCheck.self] }
}

extension BudgetReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "range": .string(), "from": .string(format: "date-time"), "to": .string(format: "date-time"),
                "breached": .integer(),
                "budgets": .array(.reference(BudgetStatus.openAPIName)),
            ],
            required: ["range", "from", "to", "breached", "budgets"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [BudgetStatus.self] }
}

extension RouteForecast: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "route": .string(), "method": .string(), "currentPeakRatePerSecond": .number,
                "peakRatePerSecond": .number,
            ],
            required: ["route", "method", "currentPeakRatePerSecond", "peakRatePerSecond"]
        )
    }
}

extension CapacityForecast: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "generatedAt": .string(format: "date-time"), "nextSaturday": .string(format: "date"),
                "inSeason": .boolean, "weeksOfHistory": .integer(),
                "currentPeakRatePerSecond": .number, "peakRatePerSecond": .number, "peakP95Ms": .number,
                "trendPerWeek": .number,
                "saturdayFactor": .number, "seasonFactor": .number, "currentReplicas": .integer(),
                "perReplicaRatePerSecond": .number,
                "replicasNeeded": .integer(), "budgetBreachAt": .string(format: "date"),
                "routes": .array(.reference(RouteForecast.openAPIName)),
                "method": .string(),
            ],
            required: [
                "generatedAt", "nextSaturday", "inSeason", "weeksOfHistory", "currentPeakRatePerSecond",
                "peakRatePerSecond", "trendPerWeek",
                "saturdayFactor", "seasonFactor", "currentReplicas", "perReplicaRatePerSecond", "replicasNeeded",
                "routes", "method",
            ]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [RouteForecast.self] }
}

extension ReleaseMarker: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["version": .string(), "service": .string(), "at": .string(format: "date-time")],
            required: ["version", "at"]
        )
    }
}

extension ReleaseMarkerRequest: OpenAPISchemaProviding {
    /// A version or a service's name.
    static let nameRule = TextRule.name(100)

    public static var openAPISchema: JSONSchema {
        .object(
            ["version": nameRule.schema, "service": .nullable(nameRule.schema), "at": .nullable(.requestDateTime)],
            required: ["version"]
        )
    }
}

extension LatencyWindow: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "label": .string(), "from": .string(format: "date-time"), "to": .string(format: "date-time"),
                "count": .integer(), "p50Ms": .number,
                "p95Ms": .number, "p99Ms": .number,
            ],
            required: ["label", "from", "to", "count", "p50Ms", "p95Ms", "p99Ms"]
        )
    }
}

extension RegressionFinding: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "route": .string(), "method": .string(), "baseline": .reference(LatencyWindow.openAPIName),
                "current": .reference(LatencyWindow.openAPIName),
                "test": .string(), "u": .number, "z": .number, "pValue": .number,
                "effectSize": .described(.number, "Cliff's delta, -1 to 1"),
                "magnitude": .described(.string(), "negligible, small, medium or large"), "p95Ratio": .number,
                "regressed": .boolean,
            ],
            required: [
                "route", "method", "baseline", "current", "test", "u", "z", "pValue", "effectSize", "magnitude",
                "p95Ratio", "regressed",
            ]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [LatencyWindow.self] }
}

extension RegressionReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "baseline": .string(), "release": .reference(ReleaseMarker.openAPIName), "significance": .number,
                "findings": .array(.reference(RegressionFinding.openAPIName)),
            ],
            required: ["baseline", "significance", "findings"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] {
        [ReleaseMarker.self, RegressionFinding.self]
    }
}
