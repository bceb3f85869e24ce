import Foundation
import HTTPTypes
import Logging
import NIOCore
import Testing
import WedSyncCacheKit
import WedSyncTestSupport

@testable import WedSyncGateway

/// The response store's keys and variants, on an L1-only cache.
@Suite("Gateway response cache: keys, Vary variants, tags")
struct ResponseCacheTests {
    static func makeCache() -> ResponseCache {
        let cache = MultiTierCache(
            configuration: .init(
                defaultPolicy: NamespacePolicy(ttl: 60, staleWhileRevalidate: 0, failSafe: 0),
                ttlJitter: 0
            ),
            l2: nil,
            logger: Logger(label: "test")
        )
        return ResponseCache(
            cache: cache,
            maximumObjectBytes: 1 << 20,
            keepSeconds: 600,
            maximumTTL: 86_400,
            logger: Logger(label: "test")
        )
    }

    static func response(vary: [String] = [], values: [String] = []) -> StoredResponse {
        StoredResponse(
            status: 200,
            headers: [.contentType: "application/json", .eTag: "\"a\""],
            body: ByteBuffer(string: "{}"),
            requestedAt: Date().timeIntervalSince1970,
            receivedAt: Date().timeIntervalSince1970,
            freshness: .init(
                lifetime: 60,
                isHeuristic: false,
                requiresRevalidation: false,
                mustRevalidateWhenStale: false,
                staleWhileRevalidate: 0,
                staleIfError: 0
            ),
            varyNames: vary,
            varyValues: values
        )
    }

    @Test("A record survives encoding")
    func roundTrip() throws {
        var original = Self.response(vary: ["x-lang"], values: ["en"])
        original.compressedHere = true
        original.validator = "\"v\""
        let decoded = try #require(StoredResponse(decoding: original.encoded()))
        #expect(decoded.status == 200)
        #expect(decoded.headers.map(\.name) == [.contentType, .eTag])
        #expect(decoded.varyNames == ["x-lang"])
        #expect(decoded.varyValues == ["en"])
        #expect(decoded.compressedHere && decoded.validator == "\"v\"")
        #expect(decoded.freshness.lifetime == 60)
        #expect(String(buffer: decoded.body) == "{}")
        #expect(decoded.brotli == nil && !decoded.codedAtBest)
        #expect(StoredResponse(decoding: ByteBuffer(string: "junk")) == nil)

        // Version 2 keeps the brotli body beside the gzip one, and whether both were made at the best levels.
        original.brotli = ByteBuffer(string: "brotli bytes")
        original.codedAtBest = true
        let coded = try #require(StoredResponse(decoding: original.encoded()))
        #expect(coded.brotli.map { String(buffer: $0) } == "brotli bytes")
        #expect(coded.codedAtBest)
        #expect(String(buffer: coded.body) == "{}")
        // A version 1 record (no brotli length) still reads, without brotli: the same bytes with the length cut out.
        var record = original.encoded()
        var bytes = Array(record.readBytes(length: record.readableBytes)!)
        let body = Array("{}".utf8)
        let cut = bytes.count - body.count - "brotli bytes".utf8.count - 4
        bytes.removeSubrange(cut..<(bytes.count - body.count))
        bytes[0] = 1
        let old = try #require(StoredResponse(decoding: ByteBuffer(bytes: bytes)))
        #expect(old.brotli == nil)
        #expect(String(buffer: old.body) == "{}")
        #expect(old.headers.map(\.name) == [.contentType, .eTag])
        // A record of a version this gateway does not know is a miss.
        bytes[0] = 9
        #expect(StoredResponse(decoding: ByteBuffer(bytes: bytes)) == nil)
    }

    @Test("Vary: a variant is found by the same field values, not by others")
    func variants() async throws {
        let cache = Self.makeCache()
        let key = ResponseCache.primaryKey(pool: "p", tenant: nil, target: "/v")
        let english: (String) -> [String] = { $0 == "x-lang" ? ["en"] : [] }
        let french: (String) -> [String] = { $0 == "x-lang" ? ["fr"] : [] }
        #expect(await cache.store(Self.response(vary: ["x-lang"]), primaryKey: key, target: "/v", request: english))
        #expect(await cache.lookup(key, request: english) != nil)
        #expect(await cache.lookup(key, request: french) == nil)
        #expect(await cache.lookup(key, request: { _ in [] }) == nil)
    }

    @Test("Tenants have keys of their own; a URL purge drops every tenant's copy")
    func tenants() async throws {
        let cache = Self.makeCache()
        let one = ResponseCache.primaryKey(pool: "api", tenant: "1", target: "/api/clients")
        let two = ResponseCache.primaryKey(pool: "api", tenant: "2", target: "/api/clients")
        #expect(one != two)
        let none: (String) -> [String] = { _ in [] }
        #expect(await cache.store(Self.response(), primaryKey: one, target: "/api/clients", request: none))
        #expect(await cache.lookup(two, request: none) == nil)
        #expect(await cache.store(Self.response(), primaryKey: two, target: "/api/clients", request: none))
        await cache.invalidate(targets: ["/api/clients"])
        #expect(await cache.lookup(one, request: none) == nil)
        #expect(await cache.lookup(two, request: none) == nil)
    }

    @Test("Cache-Tag values become tags; bad ones are dropped")
    func tags() {
        #expect(
            ResponseCache.tags(from: ["client:1, org:2", "guests wedding:9"]) == [
                "client:1", "org:2", "guests", "wedding:9",
            ]
        )
        #expect(ResponseCache.tags(from: ["ok, \u{7F}bad"]) == ["ok"])
    }

    @Test("Vary names: handled fields dropped, * refused")
    func varyNames() {
        #expect(ResponseCache.varyNames(["Accept-Encoding, X-Tenant-Id", "X-Lang"]) == ["x-lang"])
        #expect(ResponseCache.varyNames(["X-Lang, *"]) == nil)
    }
}
