import WedSyncModels
import WedSyncServiceKit

extension UpstreamReplicaStatus: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "address": .described(.string(), "host:port"),
                "state": .described(.string(), "healthy, unhealthy, ejected, probing or draining"),
                "outstanding": .integer(), "latencyMs": .number, "requests": .integer(), "failures": .integer(),
                "consecutiveFailures": .integer(), "ejections": .integer(),
            ],
            required: ["address", "state", "outstanding", "latencyMs", "requests", "failures", "consecutiveFailures", "ejections"]
        )
    }
}

extension UpstreamPoolStatus: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["name": .string(), "replicas": .array(.reference(UpstreamReplicaStatus.openAPIName)), "retries": .integer(), "retriesRefused": .integer()],
            required: ["name", "replicas", "retries", "retriesRefused"]
        )
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [UpstreamReplicaStatus.self] }
}

extension UpstreamsStatus: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(["pools": .array(.reference(UpstreamPoolStatus.openAPIName))], required: ["pools"])
    }

    public static var openAPIDependencies: [any OpenAPISchemaProviding.Type] { [UpstreamPoolStatus.self] }
}

extension PurgeRequest: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "tags": .described(.array(.string()), "Cache-Tag tags to purge"),
                "urls": .described(.array(.string()), "paths with their query (or full URLs) to purge, every variant and tenant"),
            ],
            required: []
        )
    }
}

extension PurgeResult: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            ["tags": .array(.string()), "urls": .array(.string()), "propagated": .described(.boolean, "False while Redis is down.")],
            required: ["tags", "urls", "propagated"]
        )
    }
}
