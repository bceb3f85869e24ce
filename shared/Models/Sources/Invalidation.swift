import Foundation

/// A request to drop cache entries, by key, by tag and by key prefix (any combination).
///
/// Keys and prefixes are cache addresses, `namespace/key` (`schedules/2026-06-13`, `schedules/2026-06`). The body
/// may give one prefix as `"prefix"` or several as `"prefixes"`.
public struct InvalidationRequest: Codable, Sendable, Equatable {
    public var keys: [String]
    public var tags: [String]
    public var prefixes: [String]
    /// Why, for the audit log (`"client 42 updated"`); never personal data.
    public var reason: String?

    public init(keys: [String] = [], tags: [String] = [], prefixes: [String] = [], reason: String? = nil) {
        self.keys = keys
        self.tags = tags
        self.prefixes = prefixes
        self.reason = reason
    }

    private enum CodingKeys: String, CodingKey {
        case keys, tags, prefixes, prefix, reason
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        keys = try container.decodeIfPresent([String].self, forKey: .keys) ?? []
        tags = try container.decodeIfPresent([String].self, forKey: .tags) ?? []
        prefixes = try container.decodeIfPresent([String].self, forKey: .prefixes) ?? []
        if let prefix = try container.decodeIfPresent(String.self, forKey: .prefix) { prefixes.append(prefix) }
        reason = try container.decodeIfPresent(String.self, forKey: .reason)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(keys, forKey: .keys)
        try container.encode(tags, forKey: .tags)
        try container.encode(prefixes, forKey: .prefixes)
        try container.encodeIfPresent(reason, forKey: .reason)
    }

    /// Whether the request names nothing to invalidate.
    public var isEmpty: Bool { keys.isEmpty && tags.isEmpty && prefixes.isEmpty }
}

/// What an invalidation did.
public struct InvalidationResult: Codable, Sendable, Equatable {
    public var invalidatedKeys: Int
    public var invalidatedTags: Int
    /// Prefixes invalidated: every entry they cover is unreadable from the answer on, in every process; L2's
    /// copies are deleted by a background sweep (counted in the statistics, `sweptByPrefix`), off the request path.
    public var invalidatedPrefixes: Int
    /// Whether every process was told: false while Redis is unreachable (the invalidation is applied here and
    /// replayed to Redis and the other processes when it returns).
    public var propagated: Bool
    public var at: Date

    public init(invalidatedKeys: Int, invalidatedTags: Int, invalidatedPrefixes: Int, propagated: Bool, at: Date) {
        self.invalidatedKeys = invalidatedKeys
        self.invalidatedTags = invalidatedTags
        self.invalidatedPrefixes = invalidatedPrefixes
        self.propagated = propagated
        self.at = at
    }
}

extension InvalidationResult: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "invalidatedKeys": .integer(), "invalidatedTags": .integer(), "invalidatedPrefixes": .integer(),
                "propagated": .described(.boolean, "False while Redis is down: replayed when it returns."),
                "at": .string(format: "date-time"),
            ],
            required: ["invalidatedKeys", "invalidatedTags", "invalidatedPrefixes", "propagated", "at"]
        )
    }
}
