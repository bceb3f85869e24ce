import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WedSyncTestSupport

/// The gateway's own keep-alive connections to its upstreams, against a real origin on loopback.
@Suite("Gateway: upstream connections", .serialized)
struct GatewayUpstreamConnectionTests {
    static let run = UUID().uuidString.prefix(8)

    @Test("A TRACE with content is refused with 400: it would reach the upstream unframed")
    func traceWithBody() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/trace-\(Self.run)"
        fixture.origin.set(path, headers: [("Cache-Control", "no-store")])
        let port = try #require(URLComponents(string: fixture.gateway.baseURL)?.port)
        let smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        let answer = try await offloaded {
            let connection = try RawHTTPConnection(port: port)
            defer { connection.close() }
            try connection.send(
                "TRACE \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: \(smuggled.utf8.count)\r\n\r\n"
                    + smuggled
            )
            return connection.receiveUntilClosed().text
        }
        #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
        #expect(answer.contains("trace_with_body"))
        #expect(fixture.origin.requests(path).isEmpty, "nothing reached the origin")
        #expect(fixture.origin.requests("/smuggled").isEmpty)
    }

    @Test("An upstream that closes after every answer: GETs and POSTs with bodies go through on new connections")
    func upstreamClosing() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/closing-\(Self.run)"
        fixture.origin.set(path, headers: [("Cache-Control", "no-store"), ("Connection", "close")])
        for index in 0..<20 {
            let answer =
                index % 2 == 0
                ? try await HTTP.get(fixture.gateway.baseURL + path)
                : try await HTTP.send(.POST, fixture.gateway.baseURL + path, body: String(repeating: "x", count: 5000))
            #expect(answer.status == 200, "request \(index)")
        }
        let seen = fixture.origin.requests(path)
        #expect(seen.count == 20)
        #expect(seen.filter { $0.method == "POST" }.allSatisfy { $0.bodyBytes == 5000 })
    }

    @Test(
        "Sequential requests share kept-alive upstream connections, and a body the client does not read frees its own"
    )
    func reuse() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/reuse-\(Self.run)"
        fixture.origin.set(path, headers: [("Cache-Control", "no-store")])
        for _ in 0..<50 {
            let answer = try await HTTP.get(fixture.gateway.baseURL + path)
            #expect(answer.status == 200)
        }
        let posted = try await HTTP.send(.POST, fixture.gateway.baseURL + path, body: "{\"a\":1}")
        #expect(posted.status == 200)
        #expect(fixture.origin.requests(path).last?.bodyBytes == 7)
        #expect(fixture.origin.requests(path).count == 51)
    }
}
