import AsyncHTTPClient
import CompressNIO
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WedSyncGateway
import WedSyncTestSupport

/// Cache hits answered on the connection's event loop (``GatewayFastPath``), over a real gateway process: they must
/// be what the full path would answer, and hold the route's limits.
@Suite("Gateway: cache hits answered on the event loop", .serialized)
struct GatewayFastPathTests {
    static let run = UUID().uuidString.prefix(8)

    /// A JSON page of about 3 KB.
    static let page =
        "{\"clients\":["
        + (0..<40).map { #"{"id":\#($0),"name":"Alex and Sam","venue":"The Old Barn"}"# }
        .joined(separator: ",") + "]}"

    @Test(
        "A hit answers gzip and identity clients each from its own stored representation, HEAD without a body, with the origin's Date"
    )
    func representations() async throws {
        let origin = try await ScriptedOrigin.start(name: "fast")
        let path = "/fast-\(Self.run)/page"
        origin.set(
            path,
            headers: [
                ("Cache-Control", "public, max-age=300"), ("Content-Type", "application/json"), ("ETag", "\"p1\""),
            ],
            body: Self.page
        )
        let gateway = try await GatewayProcess.plain(upstream: origin.base)
        defer { Task { try? await gateway.terminate() } }
        let url = gateway.baseURL + path
        let miss = try await HTTP.send(.GET, url, headers: [("Accept-Encoding", "gzip")], client: HTTP.raw)
        #expect(miss.status == 200)
        // The origin's Date, which every later answer from the cache must carry, once the clock has moved on.
        let date = try #require(miss.headers.first(name: "date"))
        #expect(await eventually(timeout: .seconds(5)) { HTTPDate.format(Date()) != date })
        let stored = await eventually(timeout: .seconds(15)) {
            (try? await HTTP.send(.GET, url, headers: [("Accept-Encoding", "gzip")], client: HTTP.raw))?.headers.first(
                name: "x-cache"
            ) == "HIT"
        }
        #expect(stored)

        let gzip = try await HTTP.send(.GET, url, headers: [("Accept-Encoding", "gzip")], client: HTTP.raw)
        #expect(gzip.headers.first(name: "x-cache") == "HIT")
        #expect(gzip.headers.first(name: "x-cache-tier") == "L1")
        #expect(gzip.headers.first(name: "content-encoding") == "gzip")
        #expect(gzip.headers.first(name: "content-length") == String(gzip.body.readableBytes))
        var compressed = gzip.body
        #expect(String(buffer: try compressed.decompress(with: .gzip(), maxSize: 1 << 20)) == Self.page)
        #expect(gzip.headers.first(name: "date") == date, "the stored Date is forwarded (RFC 9111 §4)")
        #expect(gzip.headers.first(name: "server-timing")?.contains("desc=\"L1\"") == true)
        #expect(gzip.headers.first(name: "x-request-id")?.count == 32)
        #expect(Int(gzip.headers.first(name: "age") ?? "") != nil)

        let identity = try await HTTP.send(.GET, url, client: HTTP.raw)
        #expect(identity.headers.first(name: "x-cache") == "HIT")
        #expect(identity.headers.first(name: "content-encoding") == nil)
        #expect(identity.text == Self.page)
        #expect(identity.headers.first(name: "content-length") == String(Self.page.utf8.count))
        // The gateway's gzip made the stored tag weak; the identity body is the origin's own bytes, with its tag.
        #expect(identity.headers.first(name: "etag") == "\"p1\"")
        #expect(gzip.headers.first(name: "etag") == "W/\"p1\"")
        #expect(identity.headers.first(name: "date") == date)

        let head = try await HTTP.send(.HEAD, url, client: HTTP.raw)
        #expect(head.status == 200)
        #expect(head.body.readableBytes == 0)
        #expect(head.headers.first(name: "content-length") == String(Self.page.utf8.count))
        // Then a request the full path answers on the same connections comes whole.
        let again = try await HTTP.send(.GET, url, headers: [("Cache-Control", "max-stale=5")], client: HTTP.raw)
        #expect(again.text == Self.page)
        #expect(again.headers.first(name: "date") == date, "the full path forwards the stored Date too")
        #expect(origin.count(path) == 1, "every later answer came from the cache")
        await origin.stop()
    }

    @Test(
        "§4.1 Vary gains Accept-Encoding only on representations the gateway compresses; an origin's own Vary is kept"
    )
    func vary() async throws {
        let origin = try await ScriptedOrigin.start(name: "vary")
        let small = "/vary-\(Self.run)/small"
        let large = "/vary-\(Self.run)/large"
        origin.set(
            small,
            headers: [("Cache-Control", "max-age=60"), ("Content-Type", "application/json"), ("Vary", "Foo")]
        )
        origin.set(
            large,
            headers: [("Cache-Control", "max-age=60"), ("Content-Type", "application/json")],
            body: Self.page
        )
        let gateway = try await GatewayProcess.plain(upstream: origin.base)
        defer { Task { try? await gateway.terminate() } }
        for path in [small, large] {
            _ = try await HTTP.send(
                .GET,
                gateway.baseURL + path,
                headers: [("Accept-Encoding", "gzip")],
                client: HTTP.raw
            )
            _ = await eventually(timeout: .seconds(15)) {
                (try? await HTTP.send(.GET, gateway.baseURL + path, client: HTTP.raw))?.headers.first(name: "x-cache")
                    == "HIT"
            }
        }
        let plain = try await HTTP.send(
            .GET,
            gateway.baseURL + small,
            headers: [("Accept-Encoding", "gzip")],
            client: HTTP.raw
        )
        #expect(plain.headers[canonicalForm: "vary"].map(String.init) == ["Foo"], "\(plain.headers)")
        #expect(plain.headers.first(name: "content-encoding") == nil)
        let compressed = try await HTTP.send(
            .GET,
            gateway.baseURL + large,
            headers: [("Accept-Encoding", "gzip")],
            client: HTTP.raw
        )
        #expect(compressed.headers.first(name: "vary") == "Accept-Encoding")
        #expect(compressed.headers.first(name: "content-encoding") == "gzip")
        await origin.stop()
    }

    @Test("A HEAD refused before any lookup (401) goes without its body: the next answer on the connection is framed")
    func refusedHead() async throws {
        let origin = try await ScriptedOrigin.start(name: "private")
        let gateway = try await GatewayProcess.plain(upstream: origin.base, public: false)
        defer { Task { try? await gateway.terminate() } }
        let port = try #require(URLComponents(string: gateway.baseURL)?.port)
        let answer = try await offloaded {
            let connection = try RawHTTPConnection(port: port)
            defer { connection.close() }
            try connection.send(
                "HEAD /private/x HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            return connection.receiveUntilClosed().text
        }
        let parts = answer.components(separatedBy: "\r\n\r\n")
        #expect(parts.first?.hasPrefix("HTTP/1.1 401") == true, "\(answer)")
        #expect(
            parts.count > 1 && parts[1].hasPrefix("HTTP/1.1 200"),
            "the 401's body was written after a HEAD: \(answer)"
        )
        await origin.stop()
    }

    @Test("A route's client rate limit holds for hits answered on the event loop: its burst, then 429")
    func rateLimit() async throws {
        let origin = try await ScriptedOrigin.start(name: "limited")
        let path = "/limited-\(Self.run)/page"
        origin.set(path, headers: [("Cache-Control", "public, max-age=300")])
        let gateway = try await GatewayProcess.routed(
            """
            upstreams:
              origin:
                replicas: ["\(origin.base)"]
            routes:
              - match: /limited-\(Self.run)/**
                upstream: origin
                access: public
                rate-limit: {client: {rate: 0.01, burst: 12}}
            """
        )
        defer { Task { try? await gateway.terminate() } }
        var answered: [String] = []
        var limited: HTTP.Answer?
        for _ in 0..<40 {
            let answer = try await HTTP.get(gateway.baseURL + path)
            if answer.status == 429 {
                limited = answer
                break
            }
            answered.append(answer.headers.first(name: "x-cache") ?? "none")
        }
        #expect(answered.count == 12, "\(answered)")
        #expect(answered.filter { $0 == "HIT" }.count >= 5, "\(answered)")
        let refusal = try #require(limited)
        #expect(refusal.text.contains("rate_limited"))
        #expect(refusal.headers.first(name: "ratelimit-limit") == "12")
        await origin.stop()
    }
}
