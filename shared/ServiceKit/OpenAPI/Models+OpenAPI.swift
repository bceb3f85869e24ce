import WedSyncModels

extension ErrorEnvelope: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "error": .object(
                    [
                        "code": .described(.string(), "A stable snake_case identifier, e.g. not_found."),
                        "message": .described(.string(), "A human-readable explanation."),
                    ],
                    required: ["code", "message"]
                )
            ],
            required: ["error"]
        )
    }
}

extension HealthReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["status": .string(), "service": .string(), "version": .string(), "uptimeSeconds": .number],
            required: ["status", "service", "version", "uptimeSeconds"]
        )
    }
}

extension DependencyStatus: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "name": .string(),
                "state": .string(enumeration: ["up", "degraded", "down"]),
                "critical": .boolean,
                "latencyMs": .number,
                "detail": .string(),
            ],
            required: ["name", "state", "critical", "latencyMs"]
        )
    }
}

extension ReadinessReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "status": .string(enumeration: ["ready", "degraded", "unavailable"]),
                "service": .string(),
                "dependencies": .array(.reference(DependencyStatus.openAPIName)),
            ],
            required: ["status", "service", "dependencies"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [DependencyStatus.self] }
}

extension LogLevelSetting: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["level": .string(enumeration: ["trace", "debug", "info", "notice", "warning", "error", "critical"])],
            required: ["level"]
        )
    }
}

extension InvalidationRequest: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "keys": .described(.array(.string()), "Addresses namespace/key."),
                "tags": .array(.string()),
                "prefix": .described(.string(), "One address prefix (namespace/...)."),
                "prefixes": .array(.string()),
                "reason": .described(.string(), "Why, for the log; never personal data."),
            ],
            required: []
        )
    }
}

extension InvalidationResult: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "invalidatedKeys": .integer(), "invalidatedTags": .integer(), "invalidatedByPrefix": .integer(),
                "propagated": .described(.boolean, "False while Redis is down: replayed when it returns."),
                "at": .string(format: "date-time"),
            ],
            required: ["invalidatedKeys", "invalidatedTags", "invalidatedByPrefix", "propagated", "at"]
        )
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
                "loads": .integer(), "loadFailures": .integer(), "staleServed": .integer(), "failSafeServed": .integer(),
                "hitRatio": .number, "l2Available": .boolean, "backplaneLive": .boolean, "at": .string(format: "date-time"),
            ],
            required: ["tiers", "namespaces", "hitRatio", "l2Available", "backplaneLive", "at"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [CacheTierStats.self, CacheNamespaceStats.self] }
}

extension WarmRequest.Item: OpenAPISchemaProviding {
    public static var openAPIName: String { "WarmRequestItem" }
    public static var openAPISchema: JSONSchema {
        .object(["key": .string(), "url": .string(format: "uri"), "headers": .map(.string())], required: ["key", "url"])
    }
}

extension WarmRequest: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "namespace": .string(),
                "requests": .array(.reference(WarmRequest.Item.openAPIName)),
                "urls": .array(.string(format: "uri")),
                "keys": .array(.string()),
                "pattern": .described(.string(), "A glob over the namespace's keys in L2, refreshed through loaderURL."),
                "loaderURL": .described(.string(), "A URL containing {key}."),
                "headers": .map(.string()),
                "concurrency": .integer(minimum: 1, maximum: 64),
                "ttl": .number,
                "name": .string(),
            ],
            required: ["namespace"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [WarmRequest.Item.self] }
}

extension WarmJob: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "id": .string(), "name": .string(), "namespace": .string(),
                "state": .string(enumeration: ["queued", "running", "completed", "cancelled", "failed"]),
                "total": .integer(), "succeeded": .integer(), "failed": .integer(), "bytes": .integer(),
                "createdAt": .string(format: "date-time"), "startedAt": .string(format: "date-time"),
                "finishedAt": .string(format: "date-time"), "errors": .array(.string()),
            ],
            required: ["id", "namespace", "state", "total", "succeeded", "failed", "bytes", "createdAt", "errors"]
        )
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

extension EventsAccepted: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(["accepted": .integer()], required: ["accepted"])
    }
}

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
