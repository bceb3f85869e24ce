import WedSyncModels
import WedSyncServiceKit

extension MetricEventBatch: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "events": .described(
                    .array(
                        .object(
                            [
                                "type": .described(.string(), "api_call, db_query, cache_op or system"),
                                "timestamp": .string(format: "date-time"),
                                "route": .string(), "method": .string(), "status": .integer(), "durationMs": .number,
                                "cache": .described(.string(), "HIT, MISS, STALE, REVALIDATED or BYPASS"),
                                "tenant": .string(), "requestId": .string(), "fingerprint": .string(), "rows": .integer(),
                            ],
                            required: ["type", "timestamp"]
                        )
                    ),
                    "1 to 10000 events; the fields each type needs are checked and a bad one is named in the 400"
                )
            ],
            required: ["events"]
        )
    }
}

extension EventsAccepted: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(["accepted": .integer()], required: ["accepted"])
    }
}

extension SeriesSummary: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "kind": .described(.string(), "api, db or cache"), "route": .string(), "method": .string(), "count": .integer(),
                "ratePerSecond": .number, "p50Ms": .number, "p95Ms": .number, "p99Ms": .number, "maxMs": .number,
                "errorRate": .number, "cacheHitRatio": .number,
            ],
            required: ["kind", "route", "method", "count", "ratePerSecond", "p50Ms", "p95Ms", "p99Ms", "maxMs", "errorRate"]
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
        .object(["start": .string(format: "date-time"), "value": .number, "count": .integer()], required: ["start", "count"])
    }
}

extension MetricSeries: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["metric": .string(), "route": .string(), "stepSeconds": .integer(), "points": .array(.reference(SeriesPoint.openAPIName))],
            required: ["metric", "route", "stepSeconds", "points"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [SeriesPoint.self] }
}

extension Alert: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "name": .string(), "state": .described(.string(), "inactive, pending, firing or resolved"), "severity": .string(),
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
                "id": .integer(), "receiver": .string(), "channel": .string(), "alertName": .string(), "status": .string(), "alerts": .integer(),
                "attempts": .integer(), "delivered": .boolean, "lastError": .string(), "createdAt": .string(format: "date-time"),
                "updatedAt": .string(format: "date-time"),
            ],
            required: ["id", "receiver", "channel", "alertName", "status", "alerts", "attempts", "delivered", "createdAt", "updatedAt"]
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
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "matchers": .described(.object([:], required: []), "label=value pairs; alertname is the rule"),
                "startsAt": .string(format: "date-time"), "endsAt": .string(format: "date-time"), "createdBy": .string(), "comment": .string(),
            ],
            required: ["matchers", "endsAt", "createdBy", "comment"]
        )
    }
}
