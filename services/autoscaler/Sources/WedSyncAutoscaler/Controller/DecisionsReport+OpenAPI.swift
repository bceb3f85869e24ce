import WedSyncModels

extension DecisionsReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "actuator": .string(enumeration: AutoscalerApplication.actuators), "intervalSeconds": .number,
                "targets": .array(.reference(TargetReport.openAPIName)),
            ],
            required: ["actuator", "intervalSeconds", "targets"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [TargetReport.self] }
}

extension TargetReport: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "target": .string(), "currentReplicas": .integer(minimum: 0), "readyReplicas": .integer(minimum: 0),
                "desiredReplicas": .integer(minimum: 0), "lastError": .string(),
                "decisions": .array(.reference(ScalingDecision.openAPIName)),
            ],
            required: ["target", "decisions"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [ScalingDecision.self] }
}

extension ScalingDecision: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        let metric = JSONSchema.object(
            [
                "metric": .string(enumeration: MetricTarget.Kind.allCases.map(\.rawValue)), "value": .number,
                "target": .number, "replicas": .integer(minimum: 0),
            ],
            required: ["metric", "target"]
        )
        let inputs = JSONSchema.object(
            [
                "readyReplicas": .integer(minimum: 0), "metrics": .array(metric),
                "scheduleFloor": .integer(minimum: 0), "schedules": .array(.string()),
                "calendarFloor": .integer(minimum: 0), "weddingsInPlay": .integer(minimum: 0),
                "forecastFloor": .integer(minimum: 0), "forecastApplied": .boolean, "liveZones": .array(.string()),
                "missing": .array(.string()),
            ],
            required: [
                "readyReplicas", "metrics", "scheduleFloor", "schedules", "calendarFloor", "weddingsInPlay",
                "forecastFloor", "forecastApplied", "liveZones", "missing",
            ]
        )
        return .object(
            [
                "target": .string(), "at": .string(format: "date-time"), "currentReplicas": .integer(minimum: 0),
                "desiredReplicas": .integer(minimum: 0), "rule": .string(enumeration: Rule.allCases.map(\.rawValue)),
                "reason": .string(), "inputs": inputs,
            ],
            required: ["target", "at", "currentReplicas", "desiredReplicas", "rule", "reason", "inputs"]
        )
    }
}
