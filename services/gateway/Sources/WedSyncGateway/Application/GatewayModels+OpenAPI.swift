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
            required: [
                "address", "state", "outstanding", "latencyMs", "requests", "failures", "consecutiveFailures",
                "ejections",
            ]
        )
    }
}

extension UpstreamPoolStatus: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "name": .string(), "replicas": .array(.reference(UpstreamReplicaStatus.openAPIName)),
                "retries": .integer(), "retriesRefused": .integer(),
            ],
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
    /// Tags, and URLs, in one purge.
    static let maximumItems = 1_000
    /// A tag: 1 to 128 printable ASCII characters, no spaces.
    static let tagSchema = JSONSchema.text(1...128, pattern: "^[!-~]+$")
    /// A path (not `//`), or a URL of any scheme whose path and query are taken.
    static let urlSchema = JSONSchema.text(
        1...2_048,
        pattern:
            #"^(/|/[^/\u0000-\u001F\u007F][^\u0000-\u001F\u007F]*|[A-Za-z][A-Za-z0-9+.-]*://[^\u0000-\u001F\u007F]*)$"#
    )

    public static var openAPISchema: JSONSchema {
        .constrained(
            .object(
                [
                    "tags": .described(
                        .nullable(.array(tagSchema, count: 0...maximumItems)),
                        "Cache-Tag tags to purge"
                    ),
                    "urls": .described(
                        .nullable(.array(urlSchema, count: 0...maximumItems)),
                        "paths with their query (or full URLs) to purge, every variant and tenant"
                    ),
                ],
                required: []
            ),
            [
                "anyOf": [
                    ["required": ["tags"], "properties": ["tags": ["type": "array", "minItems": 1]]],
                    ["required": ["urls"], "properties": ["urls": ["type": "array", "minItems": 1]]],
                ],
                "description": "At least one tag or URL; at most 1,000 tags and 1,000 URLs.",
            ]
        )
    }
}

extension PurgeResult: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "tags": .array(.string()), "urls": .array(.string()),
                "propagated": .described(.boolean, "False while Redis is down."),
            ],
            required: ["tags", "urls", "propagated"]
        )
    }
}
