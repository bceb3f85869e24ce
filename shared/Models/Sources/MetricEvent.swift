import Foundation

/// One observation sent to the metrics service (`POST /v1/events`).
///
/// On the wire an event is a flat JSON object whose `type` names its kind:
/// `{"type":"api_call","timestamp":"2026-06-13T14:00:00.000Z","route":"/api/clients","method":"GET",
/// "status":200,"durationMs":12.5,"cache":"HIT"}`.
public enum MetricEvent: Codable, Sendable, Equatable {
    case apiCall(APICallEvent)
    /// Many API calls, aggregated by their sender (``APICallSummaryEvent``).
    case apiCallSummary(APICallSummaryEvent)
    case databaseQuery(DatabaseQueryEvent)
    case cacheOperation(CacheOperationEvent)
    case systemSample(SystemSampleEvent)
    case finding(FindingEvent)

    /// The wire names of the event kinds.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case apiCall = "api_call"
        case apiCallSummary = "api_call_summary"
        case databaseQuery = "db_query"
        case cacheOperation = "cache_op"
        case systemSample = "system"
        case finding
    }

    private enum TypeKey: String, CodingKey { case type }

    /// The event's kind.
    public var kind: Kind {
        switch self {
        case .apiCall: .apiCall
        case .apiCallSummary: .apiCallSummary
        case .databaseQuery: .databaseQuery
        case .cacheOperation: .cacheOperation
        case .systemSample: .systemSample
        case .finding: .finding
        }
    }

    /// When the observation was made.
    public var timestamp: Date {
        switch self {
        case .apiCall(let event): event.timestamp
        case .apiCallSummary(let event): event.timestamp
        case .databaseQuery(let event): event.timestamp
        case .cacheOperation(let event): event.timestamp
        case .systemSample(let event): event.timestamp
        case .finding(let event): event.timestamp
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: TypeKey.self)
        let type = try container.decode(String.self, forKey: .type)
        switch Kind(rawValue: type) {
        case .apiCall: self = .apiCall(try APICallEvent(from: decoder))
        case .apiCallSummary: self = .apiCallSummary(try APICallSummaryEvent(from: decoder))
        case .databaseQuery: self = .databaseQuery(try DatabaseQueryEvent(from: decoder))
        case .cacheOperation: self = .cacheOperation(try CacheOperationEvent(from: decoder))
        case .systemSample: self = .systemSample(try SystemSampleEvent(from: decoder))
        case .finding: self = .finding(try FindingEvent(from: decoder))
        case nil:
            let known = Kind.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingError.dataCorruptedError(
                forKey: .type,
                in: container,
                debugDescription: "unknown event type \"\(type)\" (expected one of: \(known))"
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: TypeKey.self)
        try container.encode(kind.rawValue, forKey: .type)
        switch self {
        case .apiCall(let event): try event.encode(to: encoder)
        case .apiCallSummary(let event): try event.encode(to: encoder)
        case .databaseQuery(let event): try event.encode(to: encoder)
        case .cacheOperation(let event): try event.encode(to: encoder)
        case .systemSample(let event): try event.encode(to: encoder)
        case .finding(let event): try event.encode(to: encoder)
        }
    }
}

/// A batch of events, the body of `POST /v1/events`.
public struct MetricEventBatch: Codable, Sendable, Equatable {
    public var events: [MetricEvent]

    public init(events: [MetricEvent]) {
        self.events = events
    }
}

/// How a cache answered a request, as the gateway's `x-cache` header says it.
public enum CacheResult: String, Codable, Sendable, CaseIterable {
    case hit = "HIT"
    case miss = "MISS"
    case stale = "STALE"
    case revalidated = "REVALIDATED"
    case bypass = "BYPASS"
}

/// One API call as the gateway or the API saw it.
public struct APICallEvent: Codable, Sendable, Equatable {
    public var timestamp: Date
    /// The route template (`/api/clients/{id}`), never the raw path, so no identifier or name becomes a label.
    public var route: String
    public var method: String
    public var status: Int
    public var durationMs: Double
    public var cache: CacheResult?
    /// The organization id the call was made for, when known.
    public var tenant: String?
    public var requestId: String?

    public init(
        timestamp: Date,
        route: String,
        method: String,
        status: Int,
        durationMs: Double,
        cache: CacheResult? = nil,
        tenant: String? = nil,
        requestId: String? = nil
    ) {
        self.timestamp = timestamp
        self.route = route
        self.method = method
        self.status = status
        self.durationMs = durationMs
        self.cache = cache
        self.tenant = tenant
        self.requestId = requestId
    }
}

/// One database query, reported by the service that ran it.
public struct DatabaseQueryEvent: Codable, Sendable, Equatable {
    public var timestamp: Date
    /// The normalised statement (constants replaced by placeholders), never the bound values.
    public var fingerprint: String
    public var durationMs: Double
    public var rows: Int
    public var requestId: String?
    public var route: String?

    public init(
        timestamp: Date,
        fingerprint: String,
        durationMs: Double,
        rows: Int,
        requestId: String? = nil,
        route: String? = nil
    ) {
        self.timestamp = timestamp
        self.fingerprint = fingerprint
        self.durationMs = durationMs
        self.rows = rows
        self.requestId = requestId
        self.route = route
    }
}

/// One cache operation.
public struct CacheOperationEvent: Codable, Sendable, Equatable {
    /// What was done.
    public enum Operation: String, Codable, Sendable {
        case get, set, invalidate, refresh
    }

    public var timestamp: Date
    public var operation: Operation
    public var namespace: String
    /// `L1`, `L2`, `L3` or `loader`.
    public var tier: String
    public var hit: Bool
    public var durationMs: Double

    public init(
        timestamp: Date,
        operation: Operation,
        namespace: String,
        tier: String,
        hit: Bool,
        durationMs: Double
    ) {
        self.timestamp = timestamp
        self.operation = operation
        self.namespace = namespace
        self.tier = tier
        self.hit = hit
        self.durationMs = durationMs
    }
}

/// One sample of a host's resources.
public struct SystemSampleEvent: Codable, Sendable, Equatable {
    public var timestamp: Date
    public var host: String
    /// CPU use across all cores, 0...1.
    public var cpuUtilisation: Double
    public var memoryUsedBytes: Int
    public var memoryTotalBytes: Int
    public var diskUsedBytes: Int
    public var diskTotalBytes: Int

    public init(
        timestamp: Date,
        host: String,
        cpuUtilisation: Double,
        memoryUsedBytes: Int,
        memoryTotalBytes: Int,
        diskUsedBytes: Int,
        diskTotalBytes: Int
    ) {
        self.timestamp = timestamp
        self.host = host
        self.cpuUtilisation = cpuUtilisation
        self.memoryUsedBytes = memoryUsedBytes
        self.memoryTotalBytes = memoryTotalBytes
        self.diskUsedBytes = diskUsedBytes
        self.diskTotalBytes = diskTotalBytes
    }
}

/// How many findings of one kind an analysis has open right now (the query optimizer's N+1 patterns, unused
/// indexes...): stored as the gauge `findings{source,kind,severity}`, so alert rules can fire on it.
public struct FindingEvent: Codable, Sendable, Equatable {
    public var timestamp: Date
    /// The service that found them (`query-optimizer`).
    public var source: String
    /// `n_plus_one`, `unused_index`...
    public var kind: String
    /// `info`, `warning` or `critical`.
    public var severity: String
    /// Findings of this kind open now; 0 once they are gone.
    public var count: Int

    public init(timestamp: Date, source: String, kind: String, severity: String, count: Int) {
        self.timestamp = timestamp
        self.source = source
        self.kind = kind
        self.severity = severity
        self.count = count
    }
}

extension MetricEventBatch: OpenAPISchemaProviding {
    /// The event contract (``MetricEventBounds``, ``MetricEvent/problem``) as JSON Schema: one object per kind,
    /// told apart by `type`.
    public static var openAPISchema: JSONSchema {
        let name = JSONSchema.text(1...MetricEventBounds.maximumNameLength, pattern: #"^[^\u0000-\u001F\u007F|]*$"#)
        let route = JSONSchema.text(1...MetricEventBounds.maximumNameLength, pattern: #"^/[^\u0000-\u001F\u007F|]*$"#)
        // A cache series is keyed namespace/tier: neither part holds the separator.
        let segment = JSONSchema.text(1...MetricEventBounds.maximumNameLength, pattern: #"^[^\u0000-\u001F\u007F|/]*$"#)
        let whole = JSONSchema.integer(in: 0...MetricEventBounds.maximumInteger)
        let duration = JSONSchema.number(in: 0...MetricEventBounds.maximumDurationMs)
        func event(
            _ kind: MetricEvent.Kind,
            _ fields: [String: JSONSchema],
            required: [String],
            optional: [String: JSONSchema] = [:]
        ) -> JSONSchema {
            var properties = fields.merging(optional.mapValues { JSONSchema.nullable($0) }) { first, _ in first }
            properties["type"] = .string(enumeration: [kind.rawValue])
            properties["timestamp"] = .described(
                .requestDateTime,
                "events older than 7 days or over 5 minutes ahead are taken and skipped"
            )
            return .object(properties, required: ["type", "timestamp"] + required)
        }
        let kinds: [JSONSchema] = [
            event(
                .apiCall,
                [
                    "route": route, "method": .string(enumeration: MetricEventBounds.methods.sorted()),
                    "status": .integer(minimum: 100, maximum: 599), "durationMs": duration,
                ],
                required: ["route", "method", "status", "durationMs"],
                optional: [
                    "cache": .string(enumeration: CacheResult.allCases.map(\.rawValue)), "tenant": name,
                    "requestId": name,
                ]
            ),
            event(
                .databaseQuery,
                ["fingerprint": name, "durationMs": duration, "rows": whole],
                required: ["fingerprint", "durationMs", "rows"],
                optional: ["requestId": name, "route": route]
            ),
            event(
                .cacheOperation,
                [
                    "operation": .string(enumeration: ["get", "set", "invalidate", "refresh"]), "namespace": segment,
                    "tier": segment, "hit": .boolean, "durationMs": duration,
                ],
                required: ["operation", "namespace", "tier", "hit", "durationMs"]
            ),
            event(
                .systemSample,
                [
                    "host": name, "cpuUtilisation": .number(in: 0...1), "memoryUsedBytes": whole,
                    "memoryTotalBytes": whole, "diskUsedBytes": whole,
                    "diskTotalBytes": whole,
                ],
                required: [
                    "host", "cpuUtilisation", "memoryUsedBytes", "memoryTotalBytes", "diskUsedBytes", "diskTotalBytes",
                ]
            ),
            event(
                .finding,
                [
                    "source": name, "kind": name,
                    "severity": .string(enumeration: AlertSeverity.allCases.map(\.rawValue)), "count": whole,
                ],
                required: ["source", "kind", "severity", "count"]
            ),
        ]
        return .object(
            [
                "events": .described(
                    .array(.oneOf(kinds), count: 1...MetricEventBounds.maximumEvents),
                    "1 to 10000 events; a bad one is named in the 400"
                )
            ],
            required: ["events"]
        )
    }
}
