import Foundation
import WedSyncModels

/// A warming job to start (`POST /v1/warm`): fetch URLs and store what they answer, in the background.
///
/// Give the entries one of three ways (they may be combined): `requests` (each a key and its URL), `urls` (the key
/// is the URL's path and query), or `keys` with a `loaderURL` whose `{key}` is replaced by each key (URL-encoded).
/// `pattern` adds every key of the namespace already in L2 that matches the glob, refreshed through `loaderURL`.
///
/// Or warm the gateway's response cache instead (`gateway`, without a namespace): the pages an API's warming
/// targets name (``WarmingTargets``), each read through the gateway on its organization's behalf.
public struct WarmRequest: Codable, Sendable, Equatable {
    /// Warming the gateway: which gateway, where the day's targets come from, and which organizations.
    public struct Gateway: Codable, Sendable, Equatable {
        /// The gateway's base URL (an allowed origin).
        public var url: String
        /// The API's `GET /v1/warming/targets?date=` for the day (an allowed origin).
        public var targetsURL: String
        /// Only organizations in these IANA time zones; every one when absent.
        public var timezones: [String]?

        public init(url: String, targetsURL: String, timezones: [String]? = nil) {
            self.url = url
            self.targetsURL = targetsURL
            self.timezones = timezones
        }
    }

    /// The namespace a gateway job reports (it fills the gateway's cache, not one of this service's namespaces).
    public static let gatewayNamespace = "gateway"

    public struct Item: Codable, Sendable, Equatable {
        public var key: String
        public var url: String
        /// Headers of this fetch alone, over the job's (a supplier's own `Authorization`).
        public var headers: [String: String]?

        public init(key: String, url: String, headers: [String: String]? = nil) {
            self.key = key
            self.url = url
            self.headers = headers
        }
    }

    public var namespace: String
    public var requests: [Item]?
    public var urls: [String]?
    public var keys: [String]?
    public var pattern: String?
    public var loaderURL: String?
    /// Headers sent with every fetch (e.g. a supplier's `Authorization`); never echoed back or logged.
    public var headers: [String: String]?
    /// Fetches at once (default 8, at most 64).
    public var concurrency: Int?
    /// Seconds the entries stay fresh; by default the response's `CDN-Cache-Control`/`Cache-Control` max-age, else
    /// the namespace's TTL.
    public var ttl: Double?
    /// A name for the job (a schedule's name when a schedule started it).
    public var name: String?
    /// Warm the gateway rather than a namespace of this service. `ttl` is then the freshness the gateway keeps each
    /// page for at least (a write still purges it).
    public var gateway: Gateway?

    public init(
        namespace: String,
        requests: [Item]? = nil,
        urls: [String]? = nil,
        keys: [String]? = nil,
        pattern: String? = nil,
        loaderURL: String? = nil,
        headers: [String: String]? = nil,
        concurrency: Int? = nil,
        ttl: Double? = nil,
        name: String? = nil,
        gateway: Gateway? = nil
    ) {
        self.namespace = namespace
        self.requests = requests
        self.urls = urls
        self.keys = keys
        self.pattern = pattern
        self.loaderURL = loaderURL
        self.headers = headers
        self.concurrency = concurrency
        self.ttl = ttl
        self.name = name
        self.gateway = gateway
    }

    private enum CodingKeys: String, CodingKey {
        case namespace, requests, urls, keys, pattern, loaderURL, headers, concurrency, ttl, name, gateway
    }

    /// `keys`, `pattern` and `loaderURL` are absent or a value, never null: which of them a request carries says
    /// what it asks for (keys and a pattern need a loader URL), so a null would leave that unsaid.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        for key in [CodingKeys.keys, .pattern, .loaderURL] where container.contains(key) {
            if try container.decodeNil(forKey: key) {
                throw DecodingError.valueNotFound(
                    String.self,
                    .init(codingPath: container.codingPath + [key], debugDescription: "absent or a value, not null")
                )
            }
        }
        gateway = try container.decodeIfPresent(Gateway.self, forKey: .gateway)
        if gateway != nil, !container.contains(.namespace) {
            namespace = Self.gatewayNamespace
        } else {
            namespace = try container.decode(String.self, forKey: .namespace)
        }
        requests = try container.decodeIfPresent([Item].self, forKey: .requests)
        urls = try container.decodeIfPresent([String].self, forKey: .urls)
        keys = try container.decodeIfPresent([String].self, forKey: .keys)
        pattern = try container.decodeIfPresent(String.self, forKey: .pattern)
        loaderURL = try container.decodeIfPresent(String.self, forKey: .loaderURL)
        headers = try container.decodeIfPresent([String: String].self, forKey: .headers)
        concurrency = try container.decodeIfPresent(Int.self, forKey: .concurrency)
        ttl = try container.decodeIfPresent(Double.self, forKey: .ttl)
        name = try container.decodeIfPresent(String.self, forKey: .name)
    }
}

/// A warming job's progress (`GET /v1/jobs/{id}`).
public struct WarmJob: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case queued, running, completed, cancelled, failed
    }

    public var id: String
    public var name: String?
    /// The namespace filled, or ``WarmRequest/gatewayNamespace`` for a job warming the gateway.
    public var namespace: String
    public var state: State
    public var total: Int
    public var succeeded: Int
    public var failed: Int
    /// Bytes stored.
    public var bytes: Int
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Up to 10 failures, as `key: reason` (status codes and error kinds, never bodies or headers).
    public var errors: [String]

    public init(
        id: String,
        name: String?,
        namespace: String,
        state: State,
        total: Int,
        succeeded: Int = 0,
        failed: Int = 0,
        bytes: Int = 0,
        createdAt: Date,
        startedAt: Date? = nil,
        finishedAt: Date? = nil,
        errors: [String] = []
    ) {
        self.id = id
        self.name = name
        self.namespace = namespace
        self.state = state
        self.total = total
        self.succeeded = succeeded
        self.failed = failed
        self.bytes = bytes
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.errors = errors
    }

    /// Items done (stored or failed) over all items, 1 for an empty job.
    public var progress: Double { total == 0 ? 1 : Double(succeeded + failed) / Double(total) }
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
