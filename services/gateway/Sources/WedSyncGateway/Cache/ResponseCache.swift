import Crypto
import Foundation
import HTTPTypes
import Logging
import NIOCore
import WedSyncCacheKit
import WedSyncModels

/// The gateway's response store on the multi-tier cache (L1 in this process, L2 in the Redis every gateway
/// replica shares): keys by upstream pool, tenant and target; `Vary` through variant markers (§4.1); tags from the
/// upstream's `Cache-Tag` plus one per target URI, so a purge by tag or URL, or an unsafe request (§4.4), drops
/// every variant in every gateway at once through the cache's backplane.
public final class ResponseCache: Sendable {
    let cache: MultiTierCache
    /// Responses above this many body bytes are passed through, never stored.
    public let maximumObjectBytes: Int
    /// How long past its freshness and stale windows a response with a validator is kept, to be revalidated
    /// with a cheap conditional request rather than fetched again.
    public let keepSeconds: Double
    public let maximumTTL: Double
    let logger: Logger
    /// The cache's namespace of stored responses, resolved once.
    let resolvedNamespace: CacheNamespace?

    /// The cache namespace of every stored response.
    public static let namespace = CacheAddress.gatewayNamespace
    /// Request fields the gateway accounts for itself: the tenant is part of every key, and the body's encoding is
    /// negotiated by the gateway (it asks the upstream for gzip and decompresses for clients that refuse it).
    static let handledVaryFields: Set<String> = ["accept-encoding", "x-tenant-id"]
    static let maximumTags = 64

    public init(cache: MultiTierCache, maximumObjectBytes: Int, keepSeconds: Double, maximumTTL: Double, logger: Logger)
    {
        self.cache = cache
        self.maximumObjectBytes = maximumObjectBytes
        self.keepSeconds = keepSeconds
        self.maximumTTL = maximumTTL
        self.logger = logger
        self.resolvedNamespace = try? cache.namespace(Self.namespace)
    }

    /// The key of `target` (path and query) fetched from `pool` for `tenant` (`nil` on public routes). Long
    /// targets are hashed so every key fits the cache's limit.
    public static func primaryKey(pool: String, tenant: String?, target: String) -> String {
        let key = "\(pool)|\(tenant ?? "-")|\(target)"
        if key.utf8.count <= maximumPlainKeyBytes, !key.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return key }
        return "\(pool)|\(tenant ?? "-")|#\(digest(target))"
    }

    /// The tag every stored variant of `target` carries, whatever its tenant: purging it drops them all.
    public static func uriTag(_ target: String) -> String {
        "uri:\(digest(target))"
    }

    /// The first 96 bits of the SHA-256 of `text`, in hex.
    static func digest(_ text: String) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var digits: [UInt8] = []
        digits.reserveCapacity(24)
        for byte in SHA256.hash(data: Array(text.utf8)).prefix(12) {
            digits.append(hex[Int(byte >> 4)])
            digits.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: digits, as: UTF8.self)
    }

    /// Digests of the values `request` has for the fields `names` (absent and empty differ): the record keeps
    /// these, never the values, which may be credentials (`Vary: Authorization`).
    static func varyValues(_ names: [String], in request: (String) -> [String]) -> [String] {
        names.map { name in
            let values = request(name)
            return values.isEmpty
                ? "-" : digest(values.map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ","))
        }
    }

    static func variantKey(_ primary: String, names: [String], values: [String]) -> String {
        "\(primary)|v\(digest(zip(names, values).map { "\($0)\u{0}\($1)" }.joined(separator: "\u{0}")))"
    }

    /// The `Vary` names of a response the gateway must match requests on (`nil` for `Vary: *`).
    static func varyNames(_ vary: [String]) -> [String]? {
        var names = Set<String>()
        for value in vary {
            for part in value.split(separator: ",") {
                let name = part.trimmingCharacters(in: .whitespaces).lowercased()
                if name == "*" { return nil }
                if !name.isEmpty, !handledVaryFields.contains(name) { names.insert(name) }
            }
        }
        return names.sorted()
    }

    /// Tags from the `Cache-Tag` (or `Surrogate-Key`) values: comma or space separated, printable, at most 128
    /// bytes each, at most 64.
    static func tags(from values: [String]) -> [String] {
        var tags: [String] = []
        for value in values {
            for part in value.split(whereSeparator: { $0 == "," || $0 == " " }) {
                let tag = String(part)
                guard tag.utf8.count <= 128, tag.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), !tags.contains(tag) else {
                    continue
                }
                tags.append(tag)
                if tags.count == maximumTags { return tags }
            }
        }
        return tags
    }

    // MARK: Lookup

    /// The largest body a gzip record is gunzipped to.
    var maximumPlainBytes: Int { max(maximumObjectBytes, 1 << 20) * 16 }

    /// The largest identity body made ready beside a stored gzip one.
    static let maximumRenderedPlainBytes = 8 << 20

    /// The response L1 holds under `primaryKey` (one made by ``primaryKey(pool:tenant:target:)``), fresh in L1 and
    /// made ready to answer with (``RenderedResponse``), without waiting for anything: `nil` when L1 does not have
    /// it, or has a variant marker there.
    func peek(_ primaryKey: String) -> RenderedResponse? {
        peek(address: "\(Self.namespace)/\(primaryKey)")
    }

    /// ``peek(_:)`` of the response under `pool`, `tenant` and `target`, its key built once, for the fast path:
    /// `nil` too when the key would be hashed (the full path looks those up).
    func peek(pool: String, tenant: String?, target: String) -> RenderedResponse? {
        let tenantPart = tenant ?? "-"
        let keyBytes = pool.utf8.count + tenantPart.utf8.count + target.utf8.count + 2
        // A longer key is stored hashed; a target with control characters too, so its plain key is never found.
        guard keyBytes <= Self.maximumPlainKeyBytes else { return nil }
        let address = String(unsafeUninitializedCapacity: keyBytes + Self.namespace.utf8.count + 1) { bytes in
            var written = 0
            func append(_ part: String) {
                for byte in part.utf8 {
                    bytes[written] = byte
                    written += 1
                }
            }
            func append(_ byte: UInt8) {
                bytes[written] = byte
                written += 1
            }
            append(Self.namespace)
            append(UInt8(ascii: "/"))
            append(pool)
            append(UInt8(ascii: "|"))
            append(tenantPart)
            append(UInt8(ascii: "|"))
            append(target)
            return written
        }
        return peek(address: address)
    }

    /// The longest key kept as it is, not hashed (``primaryKey(pool:tenant:target:)``).
    static let maximumPlainKeyBytes = 900

    private func peek(address: String) -> RenderedResponse? {
        let limit = Self.maximumRenderedPlainBytes
        guard let namespace = resolvedNamespace else { return nil }
        return cache.peekL1(
            address,
            in: namespace,
            memo: { entry in
                // Large bodies are not made ready twice over in memory: they take the full path.
                guard entry.body.readableBytes <= RenderedResponse.maximumStoredBytes else { return nil }
                return StoredResponse(decoding: entry.body).flatMap { RenderedResponse($0, maximumBodyBytes: limit) }
            },
            cost: \.extraBytes
        )
    }

    /// The response this process's L1 holds for `response`'s key (its variant's, when it varies), read without
    /// counting a lookup: to check that it is still the one stored before it is replaced.
    func heldInL1(_ response: StoredResponse, primaryKey: String) -> StoredResponse? {
        let key =
            response.varyNames.isEmpty
            ? primaryKey : Self.variantKey(primaryKey, names: response.varyNames, values: response.varyValues)
        guard let address = try? CacheAddress(namespace: Self.namespace, key: key) else { return nil }
        return cache.l1Entry(address).flatMap {
            StoredResponse(decoding: $0.body)
        }
    }

    /// A stored response for the request under `primaryKey` whose `Vary` fields match; `request` gives the
    /// request's values of a field (lowercase name).
    public func lookup(_ primaryKey: String, request: (String) -> [String]) async -> (
        response: StoredResponse, key: String, tier: CacheTier
    )? {
        await find(primaryKey, request: request).map { ($0.response, $0.key, $0.tier) }
    }

    /// ``lookup(_:request:)``, with the response made ready to answer with when L1 had it; with `inL1Only`, what
    /// this process holds, without a round trip to L2. A read of L2 notes the invalidation sequence in `sequence`
    /// when the same round trip could give it (``MultiTierCache/get(_:notingSequence:)``).
    func find(
        _ primaryKey: String,
        request: (String) -> [String],
        inL1Only: Bool = false,
        sequence: MultiTierCache.SequenceNote? = nil
    ) async -> Found? {
        if let rendered = peek(primaryKey) {
            let stored = rendered.stored
            guard stored.varyNames.isEmpty || Self.varyValues(stored.varyNames, in: request) == stored.varyValues else {
                return nil
            }
            return Found(response: stored, key: primaryKey, tier: .l1, rendered: rendered)
        }
        if inL1Only { return nil }
        guard let address = try? CacheAddress(namespace: Self.namespace, key: primaryKey) else { return nil }
        let lookup =
            if let sequence { try? await cache.get(address, notingSequence: sequence) } else {
                try? await cache.get(address)
            }
        guard let found = lookup, let stored = StoredResponse(decoding: found.entry.body) else { return nil }
        guard stored.isVariantMarker else {
            guard stored.varyNames.isEmpty || Self.varyValues(stored.varyNames, in: request) == stored.varyValues else {
                return nil
            }
            return Found(response: stored, key: primaryKey, tier: found.tier, rendered: nil)
        }
        let values = Self.varyValues(stored.varyNames, in: request)
        let key = Self.variantKey(primaryKey, names: stored.varyNames, values: values)
        if let rendered = peek(key), rendered.stored.varyNames == stored.varyNames,
            rendered.stored.varyValues == values
        {
            return Found(response: rendered.stored, key: key, tier: .l1, rendered: rendered)
        }
        guard let variantAddress = try? CacheAddress(namespace: Self.namespace, key: key),
            let variant = try? await cache.get(variantAddress),
            let response = StoredResponse(decoding: variant.entry.body),
            response.varyNames == stored.varyNames, response.varyValues == values
        else { return nil }
        return Found(response: response, key: key, tier: variant.tier, rendered: nil)
    }

    /// What a lookup found.
    struct Found: Sendable {
        var response: StoredResponse
        /// The key it is stored under (the primary key, or its variant's).
        var key: String
        var tier: CacheTier
        /// Made ready to answer with, when L1 had it.
        var rendered: RenderedResponse?
    }

    // MARK: Store

    /// How long the cache keeps `response`: its freshness and stale windows, plus the keep time when it has a
    /// validator; 0 when keeping it would be of no use.
    func retention(of response: StoredResponse) -> Double {
        let freshness = response.freshness
        let hasValidator =
            response.validator != nil || response.header(.eTag) != nil || response.header(.lastModified) != nil
        let fresh = freshness.requiresRevalidation ? 0 : Double(freshness.lifetime)
        let stale =
            freshness.mustRevalidateWhenStale ? 0 : Double(max(freshness.staleWhileRevalidate, freshness.staleIfError))
        let seconds = fresh + stale + (hasValidator ? keepSeconds : 0)
        return min(maximumTTL, seconds)
    }

    /// Stores `response` for the request under `primaryKey` (whose field values `request` gives), tagged with its
    /// `Cache-Tag` tags and the target's URI tag. Returns whether it was stored.
    @discardableResult
    public func store(_ response: StoredResponse, primaryKey: String, target: String, request: (String) -> [String])
        async -> Bool
    {
        let ttl = retention(of: response)
        guard ttl >= 1, response.body.readableBytes <= maximumObjectBytes else { return false }
        var tags = Self.tags(from: response.headers[values: .cacheTag] + response.headers[values: .surrogateKey])
        tags.append(Self.uriTag(target))
        var record = response
        // The record holds both codings: past the object limit (L2 refuses to read it back), brotli is left out.
        if let brotli = record.brotli, record.body.readableBytes + brotli.readableBytes > maximumObjectBytes {
            record.brotli = nil
        }
        record.varyValues = Self.varyValues(response.varyNames, in: request)
        var key = primaryKey
        do {
            if !response.varyNames.isEmpty {
                let marker = StoredResponse(
                    status: response.status,
                    headers: HTTPFields(),
                    body: ByteBuffer(),
                    requestedAt: response.requestedAt,
                    receivedAt: response.receivedAt,
                    freshness: response.freshness,
                    varyNames: response.varyNames,
                    isVariantMarker: true
                )
                try await cache.set(
                    CacheAddress(namespace: Self.namespace, key: primaryKey),
                    body: marker.encoded(),
                    contentType: StoredResponse.contentType,
                    tags: tags,
                    ttl: max(ttl, keepSeconds),
                    readAt: response.readAt
                )
                key = Self.variantKey(primaryKey, names: response.varyNames, values: record.varyValues)
            }
            let tiers = try await cache.set(
                CacheAddress(namespace: Self.namespace, key: key),
                body: record.encoded(),
                contentType: StoredResponse.contentType,
                tags: tags,
                ttl: ttl,
                readAt: response.readAt
            )
            return !tiers.isEmpty
        } catch {
            logger.debug("response not stored", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// The statistics of the cache's tiers.
    public func statistics() -> CacheStats {
        cache.statistics()
    }

    /// The entries L1's window may hold now, as its policy sized it.
    public var l1WindowEntries: Int { cache.l1.statistics.windowEntries }

    // MARK: Invalidation

    /// The cache's invalidation sequence now: noted before an upstream is asked, so that what it answers is stored
    /// only if none of its tags was invalidated meanwhile (``StoredResponse/readAt``).
    func invalidationSequence() async -> UInt64? {
        await cache.invalidationSequence()
    }

    /// Drops every stored variant of each target (path and query) and everything tagged with `tags`, in every
    /// gateway sharing the Redis. Returns whether the other processes were told.
    @discardableResult
    public func invalidate(targets: [String] = [], tags: [String] = []) async -> Bool {
        let all = tags + targets.map(Self.uriTag)
        guard !all.isEmpty else { return true }
        let result = await cache.invalidate(InvalidationRequest(tags: all, reason: "gateway purge"))
        return result.propagated
    }
}

extension HTTPField.Name {
    /// The tags a response is purged by (as Fastly and Cloudflare name them).
    static let cacheTag = HTTPField.Name("Cache-Tag")!
    static let surrogateKey = HTTPField.Name("Surrogate-Key")!
}
