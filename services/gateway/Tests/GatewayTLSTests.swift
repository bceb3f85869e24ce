import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import Testing
import WedSyncCompression
import WedSyncTestSupport

/// The gateway over TLS 1.3 and HTTP/2: one cached answer looks the same over every protocol a phone or a hop may
/// use (plain HTTP/1.1, TLS with HTTP/1.1, TLS with HTTP/2), bodies and cache headers alike; a HEAD over HTTP/2 has
/// no body; a POST over HTTP/2 (framed by its stream, no length) reaches the origin whole, marked https.
@Suite("Gateway: TLS 1.3 and HTTP/2", .serialized, .timeLimit(.minutes(2)))
struct GatewayTLSTests {
    static let run = UUID().uuidString.prefix(8)

    /// The fields that must not differ between protocols (`Age` may tick by a second between requests).
    static let compared = [
        "etag", "cache-control", "cdn-cache-control", "vary", "content-encoding", "content-type", "content-length",
        "cache-tag", "x-cache", "x-cache-tier", "date", "server",
    ]

    @Test("A cached answer is the same over plain HTTP/1.1, TLS HTTP/1.1 and TLS HTTP/2: status, body, cache headers")
    func identicalOverEveryProtocol() async throws {
        let origin = try await ScriptedOrigin.start(name: "tls-origin")
        let certificates = try await TestCertificates.shared()
        let secure = try freePort()
        let gateway = try await InProcessGateway.start(
            upstream: origin.base,
            environment: certificates.environment(port: secure)
        )
        let h2 = try certificates.client()
        let h1 = try certificates.client(http1Only: true)
        let path = "/screen-\(Self.run)"
        let body =
            "{\"weddings\":[" + (0..<200).map { "{\"id\":\($0),\"guests\":\($0 % 90)}" }.joined(separator: ",") + "]}"
        origin.set(
            path,
            headers: [
                ("Cache-Control", "private, no-cache"), ("CDN-Cache-Control", "public, max-age=120"),
                ("ETag", "\"s1\""), ("Cache-Tag", "screen-\(Self.run)"), ("Content-Type", "application/json"),
            ],
            body: body
        )
        _ = try await HTTP.send(.GET, gateway.baseURL + path, headers: [("Accept-Encoding", "br")], client: HTTP.raw)
        await gateway.settled()

        for accept in ["br, gzip", "gzip", "identity"] {
            let headers = [("Accept-Encoding", accept)]
            let started = ContinuousClock.now
            let plain = try await HTTP.send(.GET, gateway.baseURL + path, headers: headers, client: HTTP.raw)
            let overH1 = try await HTTP.send(.GET, "https://localhost:\(secure)\(path)", headers: headers, client: h1)
            let overH2 = try await HTTP.send(.GET, "https://localhost:\(secure)\(path)", headers: headers, client: h2)
            #expect(overH1.version == .http1_1 && overH2.version == .http2)
            // Age ticks with the clock: by at most the seconds the three requests took, and one for rounding.
            let took = Int((ContinuousClock.now - started).components.seconds) + 1
            for answer in [overH1, overH2] {
                #expect(answer.status == plain.status)
                #expect(answer.body == plain.body, "\(accept): the same bytes")
                for name in Self.compared {
                    #expect(
                        answer.headers[name] == plain.headers[name],
                        "\(accept) over \(answer.version): \(name) \(answer.headers[name]) against \(plain.headers[name])"
                    )
                }
                let age = Int(answer.headers.first(name: "age") ?? "") ?? -99
                let plainAge = Int(plain.headers.first(name: "age") ?? "") ?? 0
                #expect(age >= plainAge && age - plainAge <= took, "age \(age) after \(plainAge)")
            }
            #expect(plain.headers.first(name: "x-cache") == "HIT")
        }
        #expect(origin.count(path) == 1)

        let head = try await HTTP.send(.HEAD, "https://localhost:\(secure)\(path)", client: h2)
        #expect(head.status == 200 && head.body.readableBytes == 0)
        #expect(head.headers.first(name: "content-length") == String(body.utf8.count))

        let posted = "/posted-\(Self.run)"
        origin.set(posted, headers: [("Cache-Control", "no-store")], body: "{\"ok\":true}")
        let upload = String(repeating: "{\"guest\":\"Ada\"},", count: 2000)
        let answer = try await HTTP.send(
            .POST,
            "https://localhost:\(secure)\(posted)",
            headers: [("Content-Type", "application/json")],
            body: upload,
            client: h2
        )
        #expect(answer.status == 200 && answer.version == .http2)
        let seen = try #require(origin.requests(posted).last)
        #expect(seen.bodyBytes == upload.utf8.count, "the HTTP/2 body reached the origin whole")
        #expect(seen.headers[.init("X-Forwarded-Proto")!] == "https")
        #expect(seen.headers[.init("X-Forwarded-Host")!] == "localhost:\(secure)")

        for client in [h1, h2] { try? await client.shutdown() }
        await gateway.stop()
        await origin.stop()
    }
}
