import Foundation
import WedSyncModels

/// One replica of an upstream pool as the gateway sees it (`GET /admin/upstreams`).
public struct UpstreamReplicaStatus: Codable, Sendable, Equatable {
    /// `host:port`, the replica's name in the admin API.
    public var address: String
    /// `healthy`, `unhealthy` (failing its active health check), `ejected` (passive outlier ejection, the circuit
    /// open), `probing` (half-open: one trial request at a time) or `draining` (no new requests).
    public var state: String
    public var outstanding: Int
    /// Smoothed time to the response head, milliseconds.
    public var latencyMs: Double
    public var requests: Int
    public var failures: Int
    public var consecutiveFailures: Int
    public var ejections: Int

    public init(
        address: String,
        state: String,
        outstanding: Int,
        latencyMs: Double,
        requests: Int,
        failures: Int,
        consecutiveFailures: Int,
        ejections: Int
    ) {
        self.address = address
        self.state = state
        self.outstanding = outstanding
        self.latencyMs = latencyMs
        self.requests = requests
        self.failures = failures
        self.consecutiveFailures = consecutiveFailures
        self.ejections = ejections
    }
}

/// An upstream pool and its replicas.
public struct UpstreamPoolStatus: Codable, Sendable, Equatable {
    public var name: String
    public var replicas: [UpstreamReplicaStatus]
    /// Retries sent in the current budget window, and how many the budget refused.
    public var retries: Int
    public var retriesRefused: Int

    public init(name: String, replicas: [UpstreamReplicaStatus], retries: Int, retriesRefused: Int) {
        self.name = name
        self.replicas = replicas
        self.retries = retries
        self.retriesRefused = retriesRefused
    }
}

/// Every upstream pool (`GET /admin/upstreams`).
public struct UpstreamsStatus: Codable, Sendable, Equatable {
    public var pools: [UpstreamPoolStatus]

    public init(pools: [UpstreamPoolStatus]) {
        self.pools = pools
    }
}

/// A request to purge the gateway's response cache (`POST /admin/purge`): by `Cache-Tag` tags, by URL (path and
/// query, or a full URL whose path is used), or both.
public struct PurgeRequest: Codable, Sendable, Equatable {
    public var tags: [String]
    public var urls: [String]

    public init(tags: [String] = [], urls: [String] = []) {
        self.tags = tags
        self.urls = urls
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tags = try container.decodeIfPresent([String].self, forKey: .tags) ?? []
        urls = try container.decodeIfPresent([String].self, forKey: .urls) ?? []
    }
}

/// What a purge did: every gateway sharing the Redis drops the entries (over the backplane when `propagated`).
public struct PurgeResult: Codable, Sendable, Equatable {
    public var tags: [String]
    public var urls: [String]
    public var propagated: Bool

    public init(tags: [String], urls: [String], propagated: Bool) {
        self.tags = tags
        self.urls = urls
        self.propagated = propagated
    }
}

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
