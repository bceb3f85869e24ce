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
