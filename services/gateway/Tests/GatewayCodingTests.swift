import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WedSyncCompression
import WedSyncTestSupport

/// The codings the gateway answers in: a stored response is kept in gzip and brotli, served in the one the client's
/// `Accept-Encoding` weighs highest, and recoded at the best levels in the background; an unstored one is coded as
/// it streams; and nothing goes uncompressed that would shrink, nor compressed that grew.
@Suite("Gateway: content codings (brotli, gzip, q-values)", .serialized)
struct GatewayCodingTests {
    static let run = UUID().uuidString.prefix(8)

    /// A JSON body of `bytes` bytes (or a few more), like the API's: repeated keys, varied values.
    static func json(bytes: Int, seed: Int = 1) -> String {
        var generator = SeededGenerator(seed: UInt64(seed))
        var text = "["
        var row = 0
        while text.utf8.count < bytes - 2 {
            if row > 0 { text += "," }
            let guest = ["Ada", "Bea", "Cy", "Dot", "Eli", "Fay"][Int(generator.next() % 6)]
            text += #"{"id":\#(generator.next() % 100_000),"name":"\#(guest)","table":\#(generator.next() % 40)}"#
            row += 1
        }
        text += "]"
        // Trimmed to size where the structure allows: a short body is a string of random letters.
        if bytes < 40 {
            return "\""
                + String(
                    (0..<max(0, bytes - 2)).map { _ in Character(UnicodeScalar(97 + UInt8(generator.next() % 26))) }
                ) + "\""
        }
        return text
    }

    static func get(_ path: String, _ acceptEncoding: String?) async throws -> HTTP.Answer {
        let fixture = try await GatewayFixture.shared()
        return try await HTTP.send(
            .GET,
            fixture.gateway.baseURL + path,
            headers: acceptEncoding.map { [("Accept-Encoding", $0)] } ?? [],
            client: HTTP.raw
        )
    }

    static func decoded(_ answer: HTTP.Answer) throws -> String {
        switch answer.headers.first(name: "content-encoding") {
        case "br": return String(buffer: try Brotli.decompress(answer.body, maximumSize: 1 << 24))
        case "gzip": return String(buffer: try #require(Gzip.decompress(answer.body, maximumSize: 1 << 24)))
        case nil: return answer.text
        case let other?: throw TestFailure("unexpected content-encoding \(other)")
        }
    }

    struct TestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test("A stored hit answers in brotli, gzip or identity by q-value, one tag family, Vary: Accept-Encoding")
    func negotiated() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/coded-\(Self.run)"
        let body = Self.json(bytes: 30_000)
        fixture.origin.set(path, headers: [("Cache-Control", "max-age=120"), ("ETag", "\"c1\"")], body: body)
        let first = try await Self.get(path, "gzip, deflate, br")
        #expect(first.headers.first(name: "content-encoding") == "br", "a miss answers in brotli too")
        #expect(try Self.decoded(first) == body)
        #expect(await GatewayCacheRuleTests.stored(fixture.gateway.baseURL, path))
        let cases: [(String?, String?)] = [
            ("gzip, deflate, br", "br"), ("br;q=0.5, gzip", "gzip"), ("gzip;q=0.2, br;q=0.3", "br"),
            ("*", "br"), ("identity", nil), (nil, nil), ("gzip;q=0, br;q=0", nil), ("deflate", nil),
            ("x-gzip", "gzip"),
        ]
        for (accept, expected) in cases {
            let answer = try await Self.get(path, accept)
            #expect(answer.status == 200)
            #expect(answer.headers.first(name: "x-cache") == "HIT", "\(accept ?? "none")")
            #expect(answer.headers.first(name: "content-encoding") == expected, "\(accept ?? "none")")
            #expect(try Self.decoded(answer) == body, "\(accept ?? "none")")
            #expect(answer.headers.first(name: "vary")?.lowercased().contains("accept-encoding") == true)
            #expect(answer.headers.first(name: "content-length") == String(answer.body.readableBytes))
            // The coded bytes are the gateway's: a weak tag, the same for both codings; identity keeps the origin's.
            #expect(answer.headers.first(name: "etag") == (expected == nil ? "\"c1\"" : "W/\"c1\""))
        }
        #expect(fixture.origin.count(path) == 1)
        // A conditional request with the weak tag matches whatever coding it was taken from.
        let revalidated = try await HTTP.send(
            .GET,
            fixture.gateway.baseURL + path,
            headers: [("Accept-Encoding", "br"), ("If-None-Match", "W/\"c1\"")],
            client: HTTP.raw
        )
        #expect(revalidated.status == 304)
    }

    @Test("Once settled, the stored codings are remade at the best levels: brotli's best beats gzip's best by 15%")
    func recodedAtBest() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/recoded-\(Self.run)"
        let body = Self.json(bytes: 30_000, seed: 7)
        fixture.origin.set(path, headers: [("Cache-Control", "max-age=120")], body: body)
        let miss = try await Self.get(path, "br")
        #expect(miss.headers.first(name: "x-cache") == "MISS")
        let plain = ByteBuffer(string: body)
        let fast = try #require(Brotli.compress(plain, quality: Brotli.fastQuality))
        let best = try #require(Brotli.compress(plain, quality: Brotli.bestQuality))
        let gzipBest = try #require(Gzip.compress(plain, level: Gzip.bestLevel))
        #expect(miss.body.readableBytes == fast.readableBytes, "the miss codes at the fast quality")
        await fixture.gateway.settled()
        let brotli = try await Self.get(path, "br")
        let gzip = try await Self.get(path, "gzip")
        #expect(brotli.headers.first(name: "x-cache") == "HIT")
        #expect(brotli.body.readableBytes == best.readableBytes, "recoded at the best quality")
        #expect(gzip.body.readableBytes == gzipBest.readableBytes, "recoded at gzip's best level")
        #expect(Double(brotli.body.readableBytes) <= 0.85 * Double(gzip.body.readableBytes))
        #expect(try Self.decoded(brotli) == body)
        #expect(try Self.decoded(gzip) == body)
        #expect(fixture.origin.count(path) == 1)
    }

    @Test("An unstored JSON answer streams in brotli to a client that prefers it, flushed part by part")
    func streamedBrotli() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/streamed-br-\(Self.run)"
        let body = Self.json(bytes: 20_000, seed: 3)
        fixture.origin.set(path, .init(headers: [("Cache-Control", "no-store")], body: body, parts: 5))
        let answer = try await Self.get(path, "gzip, br")
        #expect(answer.headers.first(name: "content-encoding") == "br")
        #expect(answer.headers.first(name: "vary") == "Accept-Encoding")
        #expect(answer.body.readableBytes < body.utf8.count / 3)
        #expect(try Self.decoded(answer) == body)
    }

    @Test("Nothing is sent uncompressed that would shrink, nor compressed that grew: stored, streamed, any size")
    func neverLarger() async throws {
        let fixture = try await GatewayFixture.shared()
        let sizes = [1, 12, 30, 60, 100, 150, 300, 700, 1023, 1024, 1500, 5000, 60_000, 200_000]
        for (index, size) in sizes.enumerated() {
            for (kind, cacheControl, parts) in [
                ("stored", "max-age=60", 1), ("streamed", "no-store", 1), ("chunked", "no-store", 3),
            ] {
                let path = "/size-\(kind)-\(size)-\(Self.run)"
                let body = Self.json(bytes: size, seed: index)
                fixture.origin.set(path, .init(headers: [("Cache-Control", cacheControl)], body: body, parts: parts))
                for attempt in 0..<(kind == "stored" ? 2 : 1) {
                    if attempt == 1 { _ = await GatewayCacheRuleTests.stored(fixture.gateway.baseURL, path) }
                    let answer = try await Self.get(path, "br, gzip")
                    #expect(answer.status == 200)
                    #expect(try Self.decoded(answer) == body, "\(path)")
                    let identity = ByteBuffer(string: body)
                    if answer.headers.first(name: "content-encoding") == nil {
                        let gzip = try #require(Gzip.compress(identity, level: Gzip.fastLevel))
                        #expect(
                            gzip.readableBytes >= identity.readableBytes,
                            "\(path): sent as is, but gzip shrinks it"
                        )
                    } else if parts == 1 {
                        #expect(answer.body.readableBytes < identity.readableBytes, "\(path): coded larger")
                    }
                }
            }
        }
        // The gateway's own error envelopes: small JSON, which no coding shrinks, goes as it is.
        let unknown = try await HTTP.send(
            .POST,
            fixture.gateway.baseURL + "/admin/purge",
            headers: [("Accept-Encoding", "br, gzip")],
            body: "{}",
            client: HTTP.raw
        )
        #expect(unknown.status == 401)
        #expect(unknown.text.contains("\"error\""))
        #expect(unknown.headers.first(name: "content-encoding") == nil)
        let gzip = try #require(Gzip.compress(unknown.body, level: Gzip.fastLevel))
        #expect(gzip.readableBytes >= unknown.body.readableBytes, "an error envelope gzip would shrink went as is")
    }

    @Test("A revalidated response keeps Vary: Accept-Encoding beside the origin's Vary, as its coded body needs")
    func revalidatedVary() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/revalidated-\(Self.run)"
        let body = Self.json(bytes: 5000, seed: 5)
        fixture.origin.set(
            path,
            headers: [("Cache-Control", "no-cache"), ("ETag", "\"r1\""), ("Vary", "Origin")],
            body: body
        )
        _ = try await Self.get(path, "br")
        #expect(await GatewayCacheRuleTests.stored(fixture.gateway.baseURL, path))
        for accept in ["br", "gzip", "br", "identity"] {
            let answer = try await Self.get(path, accept)
            #expect(answer.headers.first(name: "x-cache") == "REVALIDATED", "\(accept)")
            #expect(answer.headers.first(name: "vary") == "Origin, Accept-Encoding", "\(accept)")
            #expect(try Self.decoded(answer) == body)
        }
    }

    @Test("A purge right after a miss wins over the recode: nothing is left stored, recoded or not")
    func purgeBeatsRecode() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/purged-recode-\(Self.run)"
        // A large body: its best brotli takes a while, so the purge lands while it is being made.
        let body = Self.json(bytes: 200_000, seed: 11)
        fixture.origin.set(
            path,
            headers: [("Cache-Control", "max-age=120"), ("Cache-Tag", "recode-\(Self.run)")],
            body: body
        )
        let miss = try await Self.get(path, "br")
        #expect(miss.headers.first(name: "x-cache") == "MISS")
        let purge = try await HTTP.send(
            .POST,
            fixture.gateway.baseURL + "/admin/purge",
            headers: GatewayProcess.admin + [("Content-Type", "application/json")],
            body: #"{"tags":["recode-\#(Self.run)"]}"#
        )
        #expect(purge.status == 200, "\(purge.text)")
        await fixture.gateway.settled()
        let held = try await HTTP.send(
            .GET,
            fixture.gateway.baseURL + path,
            headers: [("Accept-Encoding", "br"), ("Cache-Control", "only-if-cached")],
            client: HTTP.raw
        )
        #expect(held.status == 504, "the purged response came back: \(held.headers.first(name: "x-cache") ?? "")")
    }
}
