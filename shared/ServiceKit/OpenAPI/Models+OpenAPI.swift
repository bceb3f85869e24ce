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
        .object(["accepted": .integer(minimum: 0), "skipped": .integer(minimum: 1)], required: ["accepted"])
    }
}

extension MetricEventBatch: OpenAPISchemaProviding {
    /// The event contract (``MetricEventBounds``, ``MetricEvent/problem``) as JSON Schema: one object per kind,
    /// told apart by `type`.
    public static var openAPISchema: JSONSchema {
        let name = JSONSchema.text(1...MetricEventBounds.maximumNameLength, pattern: #"^[^\u0000-\u001F\u007F|]*$"#)
        let route = JSONSchema.text(1...MetricEventBounds.maximumNameLength, pattern: #"^/[^\u0000-\u001F\u007F|]*$"#)
        let whole = JSONSchema.integer(in: 0...MetricEventBounds.maximumInteger)
        let duration = JSONSchema.number(in: 0...MetricEventBounds.maximumDurationMs)
        func event(_ kind: MetricEvent.Kind, _ fields: [String: JSONSchema], required: [String], optional: [String: JSONSchema] = [:]) -> JSONSchema {
            var properties = fields.merging(optional.mapValues { JSONSchema.nullable($0) }) { first, _ in first }
            properties["type"] = .string(enumeration: [kind.rawValue])
            properties["timestamp"] = .described(.requestDateTime, "events older than 7 days or over 5 minutes ahead are taken and skipped")
            return .object(properties, required: ["type", "timestamp"] + required)
        }
        let kinds: [JSONSchema] = [
            event(
                .apiCall,
                ["route": route, "method": .string(enumeration: MetricEventBounds.methods.sorted()), "status": .integer(minimum: 100, maximum: 599), "durationMs": duration],
                required: ["route", "method", "status", "durationMs"],
                optional: ["cache": .string(enumeration: CacheResult.allCases.map(\.rawValue)), "tenant": name, "requestId": name]
            ),
            event(
                .databaseQuery, ["fingerprint": name, "durationMs": duration, "rows": whole], required: ["fingerprint", "durationMs", "rows"],
                optional: ["requestId": name, "route": route]
            ),
            event(
                .cacheOperation,
                ["operation": .string(enumeration: ["get", "set", "invalidate", "refresh"]), "namespace": name, "tier": name, "hit": .boolean, "durationMs": duration],
                required: ["operation", "namespace", "tier", "hit", "durationMs"]
            ),
            event(
                .systemSample,
                [
                    "host": name, "cpuUtilisation": .number(in: 0...1), "memoryUsedBytes": whole, "memoryTotalBytes": whole, "diskUsedBytes": whole,
                    "diskTotalBytes": whole,
                ],
                required: ["host", "cpuUtilisation", "memoryUsedBytes", "memoryTotalBytes", "diskUsedBytes", "diskTotalBytes"]
            ),
            event(
                .finding,
                ["source": name, "kind": name, "severity": .string(enumeration: AlertSeverity.allCases.map(\.rawValue)), "count": whole],
                required: ["source", "kind", "severity", "count"]
            ),
        ]
        return .object(
            ["events": .described(.array(.oneOf(kinds), count: 1...MetricEventBounds.maximumEvents), "1 to 10000 events; a bad one is named in the 400")],
            required: ["events"]
        )
    }
}
