import AsyncHTTPClient
import CompressNIO
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import Testing
import WedSyncTestSupport

/// Answers the gateway does not store are coded for the client as they stream: JSON and text gzipped for a client
/// that takes gzip, an upstream's gzip undone for one that does not, and `Vary` changed only where the gateway
/// changed the coding.
@Suite("Gateway: streamed compression of answers it does not store", .serialized)
struct GatewayStreamedCodingTests {
    static let run = UUID().uuidString.prefix(8)
    static let body =
        "{\"guests\":[" + (0..<300).map { "{\"id\":\($0),\"table\":\"table \($0 % 12)\"}" }.joined(separator: ",")
        + "]}"

    static func get(_ path: String, _ headers: [(String, String)]) async throws -> HTTP.Answer {
        let fixture = try await GatewayFixture.shared()
        return try await HTTP.send(.GET, fixture.gateway.baseURL + path, headers: headers, client: HTTP.raw)
    }

    static func gunzipped(_ answer: HTTP.Answer) throws -> String {
        var body = answer.body
        return String(buffer: try body.decompress(with: .gzip(), maxSize: 1 << 20))
    }

    @Test("An unstored JSON answer streamed in parts is gzipped as it streams, with Vary: Accept-Encoding")
    func gzipsStreamed() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/streamed-\(Self.run)"
        fixture.origin.set(
            path,
            .init(
                headers: [("Cache-Control", "no-store"), ("ETag", "\"s1\""), ("Vary", "Origin")],
                body: Self.body,
                parts: 6
            )
        )
        let zipped = try await Self.get(path, [("Accept-Encoding", "gzip")])
        #expect(zipped.status == 200)
        #expect(zipped.headers.first(name: "content-encoding") == "gzip")
        #expect(zipped.body.readableBytes < Self.body.utf8.count / 3)
        #expect(try Self.gunzipped(zipped) == Self.body)
        #expect(zipped.headers.first(name: "vary") == "Origin, Accept-Encoding", "the origin's Vary is kept")
        #expect(zipped.headers.first(name: "etag") == "W/\"s1\"", "the tag no longer names these bytes")
        let plain = try await Self.get(path, [])
        #expect(plain.headers.first(name: "content-encoding") == nil)
        #expect(plain.text == Self.body)
        #expect(plain.headers.first(name: "vary") == "Origin", "not coded here: Vary as the origin sent it")
        #expect(plain.headers.first(name: "etag") == "\"s1\"")
    }

    @Test("The answer to an unsafe request (a POST) is gzipped too")
    func gzipsUnsafe() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/posted-\(Self.run)"
        fixture.origin.set(path, .init(headers: [("Cache-Control", "no-store")], body: Self.body))
        let answer = try await HTTP.send(
            .POST,
            fixture.gateway.baseURL + path,
            headers: [("Accept-Encoding", "gzip")],
            body: "{}",
            client: HTTP.raw
        )
        #expect(answer.headers.first(name: "content-encoding") == "gzip")
        #expect(try Self.gunzipped(answer) == Self.body)
    }

    @Test("Tiny bodies, no-transform and non-text types go as they came")
    func leftAlone() async throws {
        let fixture = try await GatewayFixture.shared()
        let cases: [(String, [(String, String)], String)] = [
            ("tiny", [("Cache-Control", "no-store")], "{\"ok\":true}"),
            ("no-transform", [("Cache-Control", "no-store, no-transform")], Self.body),
            ("binary", [("Cache-Control", "no-store"), ("Content-Type", "application/octet-stream")], Self.body),
        ]
        for (name, headers, body) in cases {
            let path = "/left-\(name)-\(Self.run)"
            fixture.origin.set(path, .init(headers: headers, body: body))
            let answer = try await Self.get(path, [("Accept-Encoding", "gzip")])
            #expect(answer.headers.first(name: "content-encoding") == nil, "\(name)")
            #expect(answer.headers.first(name: "vary") == nil, "\(name)")
            #expect(answer.text == body, "\(name)")
        }
    }

    @Test("An upstream's gzip, asked for by a cache fill, reaches a client without gzip decompressed")
    func gunzipsForIdentityClients() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/origin-gzip-\(Self.run)"
        // private: the fill asked for gzip, and the answer is not for a shared cache: it streams to this client.
        fixture.origin.set(
            path,
            .init(headers: [("Cache-Control", "private, max-age=60")], body: Self.body, gzipped: true, parts: 3)
        )
        let plain = try await Self.get(path, [])
        #expect(fixture.origin.requests(path).last?.headers[.acceptEncoding] == "gzip")
        #expect(plain.status == 200)
        #expect(plain.headers.first(name: "content-encoding") == nil)
        #expect(plain.text == Self.body)
        #expect(plain.headers.first(name: "vary")?.lowercased().contains("accept-encoding") == true)
        let zipped = try await Self.get(path, [("Accept-Encoding", "gzip")])
        #expect(zipped.headers.first(name: "content-encoding") == "gzip")
        #expect(try Self.gunzipped(zipped) == Self.body)
    }
}
