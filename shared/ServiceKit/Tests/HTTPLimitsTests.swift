import Foundation
import Testing
import WedSyncServiceKit
import WedSyncTestSupport

/// The HTTP server's limits against slow and greedy clients, over real sockets: a head that trickles in (slowloris),
/// a head too large, a connection left idle.
@Suite("Service kit: HTTP limits over real sockets", .timeLimit(.minutes(2)))
struct HTTPLimitsTests {
    /// Sends `request` and reads until the server closes the connection (`closed`) or 20 s pass.
    static func exchange(port: Int, _ request: String) async throws -> (answer: String, closed: Bool) {
        try await offloaded {
            let connection = try RawHTTPConnection(port: port)
            defer { connection.close() }
            try connection.send(request)
            let (text, closed) = connection.receiveUntilClosed()
            return (text, closed)
        }
    }

    static func withService(_ environment: [String: String], _ body: @Sendable (Int) async throws -> Void) async throws
    {
        let port = try freePort()
        let service = ServiceBuilder(
            configuration: try await ServiceKitLiveTests.configuration(port: port, environment: environment),
            summary: "limits"
        )
        try await ServiceKitLiveTests.serve(service) { _, _ in try await body(port) }
    }

    @Test("A head that trickles in is answered 408 and the connection closed, once the header timeout passes")
    func slowHead() async throws {
        try await Self.withService(["WEDSYNC_HTTP_HEADER_TIMEOUT_MS": "300"]) { port in
            // Half a head, and never the rest: the server gives up by itself.
            let (answer, closed) = try await Self.exchange(port: port, "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: a")
            #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
            #expect(answer.contains(#""code":"request_timeout""#))
            #expect(closed)
        }
    }

    @Test("A head larger than the bound is answered 431 and the connection closed; one within it is served")
    func largeHead() async throws {
        try await Self.withService(["WEDSYNC_HTTP_MAX_HEADER_BYTES": "2048"]) { port in
            let padding = String(repeating: "a", count: 4_000)
            let (answer, closed) = try await Self.exchange(
                port: port,
                "GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: \(padding)\r\n\r\n"
            )
            #expect(answer.hasPrefix("HTTP/1.1 431"), "\(answer.prefix(200))")
            #expect(answer.contains(#""code":"headers_too_large""#) && closed)
            let small = try await Self.exchange(
                port: port,
                "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: \(padding.prefix(500))\r\n\r\n"
            )
            #expect(small.answer.hasPrefix("HTTP/1.1 200"), "\(small.answer.prefix(200))")
        }
    }

    @Test("A keep-alive connection left idle is closed by the server after the idle timeout")
    func idleConnection() async throws {
        try await Self.withService(["WEDSYNC_HTTP_IDLE_TIMEOUT_MS": "300", "WEDSYNC_HTTP_HEADER_TIMEOUT_MS": "60000"]) {
            port in
            let (answer, closed) = try await Self.exchange(port: port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(200))")
            #expect(closed, "the server closed the idle connection itself")
        }
    }
}
