import Foundation
import WedSyncCacheKit
import WedSyncModels
import WedSyncServiceKit

/// The cache service's request rules, each said once for its routes' validation and for its OpenAPI document.
enum CacheFields {
    static let namespaceSchema = JSONSchema.text(1...64, pattern: "^[A-Za-z0-9._-]+$")
    /// A key through the HTTP API: 1 to 256 code points (so at most the 1,024 bytes an address allows), one line.
    static let key = TextRule(1...256)
    static let tag = TextRule(1...256)
    /// Tags in a query: up to 64 tags, comma-separated, so without commas.
    static let tagsSchema = JSONSchema.text(
        0...(64 * 256 + 63),
        pattern: #"^([^\u0000-\u001F\u007F,]{1,256}(,[^\u0000-\u001F\u007F,]{1,256}){0,63})?$"#
    )
    /// A glob over a namespace's keys.
    static let pattern = TextRule.name(256)
    static let reason = TextRule.freeText(500)
    static let maximumInvalidationTags = 10_000
    static let maximumInvalidationPrefixes = 1_000
    static let maximumQueryTags = 64
    static let ttlSchema = JSONSchema.constrained(.number, ["exclusiveMinimum": 0])

    /// `namespace/key`.
    static let addressSchema = JSONSchema.text(
        3...(64 + 1 + 256),
        pattern: #"^[A-Za-z0-9._-]{1,64}/[^\u0000-\u001F\u007F]{1,256}$"#
    )
    /// A prefix of addresses: `namespace/...`, or part of a namespace.
    static let prefix = TextRule(1...256)

    /// The address `text` names (`namespace/key`), by the HTTP API's rules.
    static func address(_ text: String, field: String) throws(ServiceError) -> CacheAddress {
        let address: CacheAddress
        do {
            address = try CacheAddress(text)
        } catch {
            throw ServiceError.badRequest("\(field): \(error.message)", code: "invalid_body")
        }
        try key.check(address.key, field, code: "invalid_body")
        return address
    }

    static func address(namespace: String, key: String, field: String = "key", code: String = "invalid_key")
        throws(ServiceError) -> CacheAddress
    {
        try Self.key.check(key, field, code: code)
        do {
            return try CacheAddress(namespace: namespace, key: key)
        } catch {
            throw ServiceError.badRequest(error.message, code: code)
        }
    }

    /// The tags of a `tags=a,b` query parameter.
    static func tags(query text: String?) throws(ServiceError) -> [String] {
        guard let text, !text.isEmpty else { return [] }
        let tags = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return try validated(tags: tags, limit: maximumQueryTags, code: "invalid_parameter")
    }

    /// `tags`, if there are at most `limit` and each is a tag.
    static func validated(tags: [String], limit: Int, code: String) throws(ServiceError) -> [String] {
        guard tags.count <= limit else { throw ServiceError.badRequest("tags: at most \(limit) tags", code: code) }
        for tag in tags { try Self.tag.check(tag, "tags", code: code) }
        return tags
    }

    /// The invalidation request's schema: at least one tag, key or prefix.
    static var invalidationSchema: NamedSchema {
        let some: [JSONValue] =
            ["tags", "keys", "prefixes"].map {
                ["required": [.string($0)], "properties": [$0: ["type": "array", "minItems": 1]]]
            }
            + [["required": ["prefix"], "properties": ["prefix": ["type": "string"]]]]
        return NamedSchema(
            schema: .constrained(
                .object(
                    [
                        "keys": .described(
                            .nullable(.array(addressSchema, count: 0...maximumInvalidationTags)),
                            "Addresses namespace/key."
                        ),
                        "tags": .nullable(.array(tag.schema, count: 0...maximumInvalidationTags)),
                        "prefix": .described(.nullable(prefix.schema), "One address prefix (namespace/...)."),
                        "prefixes": .nullable(.array(prefix.schema, count: 0...maximumInvalidationPrefixes)),
                        "reason": .described(.nullable(reason.schema), "Why, for the log; never personal data."),
                    ],
                    required: []
                ),
                ["anyOf": .array(some)]
            )
        )
    }
}

extension CacheFields {
    static let headerName = JSONSchema.text(1...64, pattern: "^[A-Za-z0-9-]+$")
    static let headerValue = TextRule(0...1_000)
    static let jobName = TextRule(0...200)
    static let maximumURLLength = 256
    /// Requests, URLs or keys in one warming request.
    static let maximumWarmList = 1_000
    /// The characters a warming URL may carry after its origin (no spaces, quotes, braces or `%`).
    static let urlTail = #"[A-Za-z0-9._~:/?#@!$&'()*+,;=-]"#

    /// A warming request's schema for this service: its served namespaces, and URLs at its allowed origins only.
    static func warmSchema(origins: AllowedOrigins, namespaces: ServedNamespaces) -> NamedSchema {
        let origin = origins.pattern()
        let url = JSONSchema.text(8...maximumURLLength, pattern: "^\(origin)(/\(urlTail)*)?$")
        let loader = JSONSchema.text(13...maximumURLLength, pattern: "^\(origin)/\(urlTail)*\\{key\\}\(urlTail)*$")
        let headers = JSONSchema.constrained(
            .map(headerValue.schema),
            ["propertyNames": headerName.json, "maxProperties": 32]
        )
        let item = JSONSchema.object(
            ["key": key.schema, "url": url, "headers": .nullable(headers)],
            required: ["key", "url"]
        )
        let some: [JSONValue] = [
            ["required": ["requests"], "properties": ["requests": ["type": "array", "minItems": 1]]],
            ["required": ["urls"], "properties": ["urls": ["type": "array", "minItems": 1]]],
            ["required": ["keys", "loaderURL"], "properties": ["keys": ["type": "array", "minItems": 1]]],
            ["required": ["pattern", "loaderURL"]],
        ]
        let request = JSONSchema.object(
            [
                "namespace": .string(enumeration: namespaces.names.sorted()),
                "requests": .nullable(.array(item, count: 0...maximumWarmList)),
                "urls": .nullable(.array(url, count: 0...maximumWarmList)),
                "keys": .described(
                    .array(key.schema, count: 0...maximumWarmList),
                    "Keys fetched through loaderURL (not null: absent when none)."
                ),
                "pattern": .described(
                    pattern.schema,
                    "A glob over the namespace's keys in L2, refreshed through loaderURL (not null)."
                ),
                "loaderURL": .described(loader, "A URL containing {key}, at an allowed origin (not null)."),
                "headers": .nullable(headers),
                "concurrency": .nullable(.integer(minimum: 1, maximum: Warmer.maximumConcurrency)),
                "ttl": .nullable(ttlSchema),
                "name": .nullable(jobName.schema),
            ],
            required: ["namespace"]
        )
        return NamedSchema(
            schema: .constrained(
                request,
                ["anyOf": .array(some), "dependentRequired": ["keys": ["loaderURL"], "pattern": ["loaderURL"]]]
            )
        )
    }
}
