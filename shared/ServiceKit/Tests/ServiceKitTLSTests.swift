import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization
import Testing
import WedSyncServiceKit
import WedSyncTestSupport

/// TLS 1.3 and HTTP/2 at a service, over real sockets: ALPN chooses HTTP/2 or HTTP/1.1 on the TLS port, the plain
/// port takes HTTP/2 with prior knowledge beside HTTP/1.1, the HTTP/1.1 limits hold behind TLS, sessions resume,
/// and early data is refused.
@Suite("Service kit: TLS 1.3 and HTTP/2", .serialized, .timeLimit(.minutes(2)))
struct ServiceKitTLSTests {
    static func withService(
        _ environment: [String: String] = [:],
        _ body: @Sendable (_ plain: Int, _ secure: Int, _ certificates: TestCertificates) async throws -> Void
    ) async throws {
        let (plain, secure) = (try freePort(), try freePort())
        let certificates = try await TestCertificates.shared()
        let service = ServiceBuilder(
            configuration: try await ServiceKitLiveTests.configuration(
                port: plain,
                environment: certificates.environment(port: secure).merging(environment) { _, new in new }
            ),
            summary: "tls"
        )
        try await ServiceKitLiveTests.serve(service) { _, _ in
            #expect(await eventually { acceptsConnections(port: secure) })
            try await body(plain, secure, certificates)
        }
    }

    static func curl(_ arguments: [String]) async throws -> String {
        let (status, output) = try await run(
            "/usr/bin/curl",
            ["-s", "-o", "/dev/null", "-w", "%{http_version}"] + arguments
        )
        #expect(status == 0, "curl \(arguments): \(output)")
        return output
    }

    @Test("ALPN: HTTP/2 for a client that offers it, HTTP/1.1 for one that does not; TLS 1.2 is refused")
    func alpn() async throws {
        try await Self.withService { _, secure, certificates in
            let url = "https://localhost:\(secure)/health"
            let h2 = try certificates.client()
            let h1 = try certificates.client(http1Only: true)
            let old = try certificates.client(maximumVersion: .tlsv12)
            let two = try await HTTP.send(.GET, url, client: h2)
            #expect(two.status == 200 && two.version == .http2)
            #expect(two.text.contains("\"service\""))
            let one = try await HTTP.send(.GET, url, client: h1)
            #expect(one.status == 200 && one.version == .http1_1)
            await #expect(throws: (any Error).self) { try await HTTP.send(.GET, url, client: old) }
            for client in [h2, h1, old] { try? await client.shutdown() }
        }
    }

    @Test("The plain port speaks HTTP/2 to a client that opens with its preface (h2c), and HTTP/1.1 to the rest")
    func priorKnowledge() async throws {
        try await Self.withService { plain, _, _ in
            let url = "http://127.0.0.1:\(plain)/health"
            let two = try await Self.curl(["--http2-prior-knowledge", url])
            let one = try await Self.curl(["--http1.1", url])
            let plainAnswer = try await HTTP.get(url)
            #expect(two == "2")
            #expect(one == "1.1")
            #expect(plainAnswer.status == 200)
        }
    }

    @Test(
        "Behind TLS the HTTP/1.1 limits still answer (431 from the guard, written through TLS); with h2c off the plain port is HTTP/1.1 only"
    )
    func limitsBehindTLS() async throws {
        try await Self.withService(["WEDSYNC_HTTP_MAX_HEADER_BYTES": "2048", "WEDSYNC_HTTP_H2C": "false"]) {
            plain,
            secure,
            certificates in
            let h1 = try certificates.client(http1Only: true)
            let refused = try await HTTP.send(
                .GET,
                "https://localhost:\(secure)/health",
                headers: [("X-Pad", String(repeating: "a", count: 4000))],
                client: h1
            )
            #expect(refused.status == 431, "\(refused.text)")
            #expect(refused.text.contains("headers_too_large"))
            try? await h1.shutdown()
            let (status, _) = try await run(
                "/usr/bin/curl",
                ["-s", "-o", "/dev/null", "--http2-prior-knowledge", "http://127.0.0.1:\(plain)/health"]
            )
            #expect(status != 0, "prior knowledge is refused with h2c off")
        }
    }

    @Test(
        "A client that connects and says nothing (no handshake, half a preface) is closed after the idle and header timeouts"
    )
    func silentClients() async throws {
        try await Self.withService(["WEDSYNC_HTTP_HEADER_TIMEOUT_MS": "300", "WEDSYNC_HTTP_IDLE_TIMEOUT_MS": "300"]) {
            plain,
            secure,
            _ in
            for (port, bytes) in [(plain, "PRI * HTTP/2.0\r\n"), (secure, ""), (plain, "")] {
                let closed = try await offloaded {
                    let connection = try RawHTTPConnection(port: port)
                    defer { connection.close() }
                    if !bytes.isEmpty { try connection.send(bytes) }
                    return connection.receiveUntilClosed().closed
                }
                #expect(closed, "port \(port) with \(bytes.debugDescription) was never closed")
            }
        }
    }

    @Test("A TLS 1.3 session resumes (tickets), and early data is never accepted")
    func resumption() async throws {
        try await Self.withService { _, secure, certificates in
            let session = TestEnvironment.temporaryPath("session", suffix: ".pem")
            let request = TestEnvironment.temporaryPath("early", suffix: ".txt")
            try "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".write(
                toFile: request,
                atomically: true,
                encoding: .utf8
            )
            let common = [
                "s_client", "-connect", "127.0.0.1:\(secure)", "-servername", "localhost", "-CAfile",
                certificates.caFile, "-tls1_3", "-ign_eof",
            ]
            // The tickets come after the handshake: the first connection sends a request and reads its answer.
            let first = try await run(
                "/usr/bin/openssl",
                common + ["-sess_out", session],
                input: Data("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8)
            )
            #expect(first.output.contains("New, TLSv1.3"), "\(first.output.suffix(600))")
            #expect(first.output.contains("Verify return code: 0 (ok)"))
            let second = try await run(
                "/usr/bin/openssl",
                common + ["-sess_in", session, "-early_data", request],
                input: Data("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8)
            )
            #expect(second.output.contains("Reused, TLSv1.3"), "\(second.output.suffix(600))")
            #expect(
                second.output.contains("Early data was not sent") || second.output.contains("Early data was rejected"),
                "\(second.output.suffix(600))"
            )
            #expect(second.output.contains("HTTP/1.1 200"), "the resumed connection is served after its handshake")
        }
    }

    /// The types of the HTTP/2 frames in `bytes` (a server's side of a connection: frames from the first byte).
    static func frameTypes(_ bytes: [UInt8]) -> [UInt8] {
        var types: [UInt8] = []
        var offset = 0
        while offset + 9 <= bytes.count {
            let length = Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
            types.append(bytes[offset + 3])
            offset += 9 + length
        }
        return types
    }

    /// An HTTP/2 connection with prior knowledge that opens and then waits: the server's frames until it closes.
    static func waitingHTTP2Connection(port: Int) async throws -> (types: [UInt8], closed: Bool) {
        try await offloaded {
            let connection = try RawHTTPConnection(port: port)
            defer { connection.close() }
            // The preface, then an empty SETTINGS frame: a client that says hello and nothing more.
            try connection.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + "\u{0}\u{0}\u{0}\u{4}\u{0}\u{0}\u{0}\u{0}\u{0}")
            // Until the server has been quiet for 3 s: a GOAWAY comes well before, and the connection may stay
            // open after it for streams to finish.
            let (bytes, closed) = connection.receiveBytesUntilClosed(timeout: 3)
            return (frameTypes(bytes), closed)
        }
    }

    @Test("An idle HTTP/2 connection gets a GOAWAY after the idle timeout, and one past its maximum age after that")
    func http2Timeouts() async throws {
        let goAway: UInt8 = 7
        try await Self.withService(["WEDSYNC_HTTP_IDLE_TIMEOUT_MS": "300"]) { plain, _, _ in
            let (types, _) = try await Self.waitingHTTP2Connection(port: plain)
            #expect(types.first == 4, "the server's SETTINGS first: \(types)")
            #expect(types.contains(goAway), "idle: \(types)")
        }
        // Idle for a minute at most, but 500 ms old at most: the age goes first.
        try await Self.withService(["WEDSYNC_HTTP_H2_MAX_AGE_MS": "500", "WEDSYNC_HTTP_H2_GRACEFUL_CLOSE_MS": "200"]) {
            plain,
            _,
            _ in
            let started = ContinuousClock.now
            let (types, _) = try await Self.waitingHTTP2Connection(port: plain)
            #expect(types.contains(goAway), "maximum age: \(types)")
            #expect(ContinuousClock.now - started < .seconds(30), "told to go by its age, long before the idle timeout")
        }
    }

    @Test("A graceful shutdown closes connections that never said what they speak at once, plain and TLS")
    func shutdownWithSilentConnections() async throws {
        let opened = SilentConnections()
        let started = ContinuousClock.now
        try await Self.withService { plain, secure, _ in
            // A browser's speculative connections: open, and nothing sent on them.
            opened.add(try RawHTTPConnection(port: plain))
            opened.add(try RawHTTPConnection(port: secure))
        }
        // The idle timeout is a minute: only the quiescing closes them this soon.
        #expect(ContinuousClock.now - started < .seconds(20), "the shutdown waited on silent connections")
        for connection in opened.all {
            let closed = try await offloaded { connection.receiveBytesUntilClosed(timeout: 5).closed }
            #expect(closed, "the server closed a silent connection when it shut down")
            connection.close()
        }
    }
}

/// Connections a test opened inside a closure, kept for after it.
final class SilentConnections: Sendable {
    private let connections = Mutex<[RawHTTPConnection]>([])

    var all: [RawHTTPConnection] { connections.withLock { $0 } }

    func add(_ connection: RawHTTPConnection) {
        connections.withLock { $0.append(connection) }
    }
}
