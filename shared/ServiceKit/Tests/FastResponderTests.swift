import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Testing
import WedSyncServiceKit
import WedSyncTestSupport

/// A service with a fast responder (``HTTPFastResponder``) over real sockets: answers leave in the order the
/// requests came, what it answers does not unframe what the router answers next, and the idle timeout still holds.
@Suite("Service kit: answers made on the event loop", .timeLimit(.minutes(2)))
struct FastResponderTests {
    /// Answers `GET /fast` (and `HEAD /fast`, without a body) itself; everything else goes to the router.
    struct Responder: HTTPFastResponder {
        func respond(to head: FastRequestHead, clientAddress: () -> String?, allocator: ByteBufferAllocator)
            -> ByteBuffer?
        {
            guard head.target == "/fast" else { return nil }
            let body = head.method == .head ? "" : "fast!"
            return allocator.buffer(string: "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-made: here\r\n\r\n\(body)")
        }
    }

    static func withService(_ environment: [String: String], _ body: @Sendable (Int) async throws -> Void) async throws
    {
        let port = try freePort()
        let service = ServiceBuilder(
            configuration: try await ServiceKitLiveTests.configuration(port: port, environment: environment),
            summary: "fast"
        )
        service.setFastResponder(Responder())
        service.routes.add(.get, "/fast", RouteSpec(summary: "When not answered before", access: .public)) { _, _ in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "routed!")))
        }
        service.routes.get("/slow", RouteSpec(summary: "Takes a while", access: .public)) { _, _ -> [String: Int] in
            try await Task.sleep(for: .milliseconds(200))
            return ["slow": 1]
        }
        service.routes.add(.post, "/echo", RouteSpec(summary: "Its body back", access: .public)) { request, _ in
            let body = try await request.body.collect(upTo: 1 << 16)
            return Response(status: .ok, body: .init(byteBuffer: body))
        }
        service.routes.add(.get, "/dated", RouteSpec(summary: "Keeps its own Date", access: .public)) { _, _ in
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "dated")))
            response.headers[.originDate] = "Tue, 15 Nov 1994 08:12:31 GMT"
            return response
        }
        try await ServiceKitLiveTests.serve(service) { _, _ in try await body(port) }
    }

    @Test("Pipelined requests are answered in order: behind a slow one, the router answers in turn")
    func order() async throws {
        try await Self.withService([:]) { port in
            let (alone, pipelined) = try await offloaded {
                let first = try RawHTTPConnection(port: port)
                defer { first.close() }
                try first.send("GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                let alone = first.receiveUntilClosed().text
                let connection = try RawHTTPConnection(port: port)
                defer { connection.close() }
                try connection.send(
                    "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                return (alone, connection.receiveUntilClosed().text)
            }
            // Alone (and asking to close), /fast goes to the router; kept alive and alone, it is answered here.
            #expect(alone.contains("routed!"), "\(alone)")
            let slow = try #require(pipelined.range(of: #"{"slow":1}"#), "\(pipelined)")
            let next = try #require(pipelined.range(of: "routed!"), "\(pipelined)")
            #expect(slow.upperBound <= next.lowerBound, "an answer overtook the slow one: \(pipelined)")
            #expect(pipelined.components(separatedBy: "HTTP/1.1 200").count == 4, "\(pipelined)")
            let kept = try await offloaded {
                let connection = try RawHTTPConnection(port: port)
                defer { connection.close() }
                try connection.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
                return try connection.receive(atLeast: 57)
            }
            #expect(kept.contains("x-made: here") && kept.hasSuffix("fast!"), "\(kept)")
        }
    }

    @Test("A HEAD answered here leaves the next GET the router answers whole, body and all")
    func headThenGet() async throws {
        try await Self.withService([:]) { port in
            let answer = try await offloaded {
                let connection = try RawHTTPConnection(port: port)
                defer { connection.close() }
                try connection.send(
                    "HEAD /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /dated HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                return connection.receiveUntilClosed().text
            }
            #expect(
                answer.hasPrefix("HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-made: here\r\n\r\nHTTP/1.1 200"),
                "\(answer)"
            )
            #expect(answer.hasSuffix("\r\n\r\ndated"), "the router's body was lost: \(answer)")
            // A handler's own Date is what the client sees (the server's would replace it).
            #expect(
                answer.contains("Date: Tue, 15 Nov 1994 08:12:31 GMT")
                    || answer.contains("date: Tue, 15 Nov 1994 08:12:31 GMT"),
                "\(answer)"
            )
            #expect(!answer.lowercased().contains("x-wedsync-origin-date"))
        }
    }

    @Test("The router's answer to a HEAD (an error envelope here) goes without its body: the next answer is framed")
    func routerHead() async throws {
        try await Self.withService([:]) { port in
            let answer = try await offloaded {
                let connection = try RawHTTPConnection(port: port)
                defer { connection.close() }
                try connection.send(
                    "HEAD /nowhere HTTP/1.1\r\nHost: x\r\n\r\nHEAD /dated HTTP/1.1\r\nHost: x\r\n\r\nGET /dated HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                return connection.receiveUntilClosed().text
            }
            let parts = answer.components(separatedBy: "\r\n\r\n")
            #expect(parts.count == 4, "\(answer)")
            #expect(parts[0].hasPrefix("HTTP/1.1 404"), "\(answer)")
            #expect(parts[1].hasPrefix("HTTP/1.1 "), "a HEAD's body was written: \(answer)")
            #expect(parts[2].hasPrefix("HTTP/1.1 200"), "\(answer)")
            #expect(parts[3] == "dated", "\(answer)")
        }
    }

    @Test("A connection answered only here is still closed after the idle timeout")
    func idle() async throws {
        try await Self.withService(["WEDSYNC_HTTP_IDLE_TIMEOUT_MS": "300", "WEDSYNC_HTTP_HEADER_TIMEOUT_MS": "60000"]) {
            port in
            let (answer, closed) = try await offloaded {
                let connection = try RawHTTPConnection(port: port)
                defer { connection.close() }
                try connection.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
                return connection.receiveUntilClosed()
            }
            #expect(answer.hasSuffix("fast!"), "\(answer)")
            #expect(closed, "the server closed the idle connection itself")
        }
    }

    @Test("A head that trickles in after answered requests is still refused with 408")
    func slowHeadAfterFast() async throws {
        try await Self.withService(["WEDSYNC_HTTP_HEADER_TIMEOUT_MS": "300"]) { port in
            let (first, answer, closed) = try await offloaded {
                let connection = try RawHTTPConnection(port: port)
                defer { connection.close() }
                try connection.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
                let first = try connection.receive(atLeast: 57)
                try connection.send("GET /fast HTTP/1.1\r\nHost: x\r\nX-Slow: a")
                let (answer, closed) = connection.receiveUntilClosed()
                return (first, answer, closed)
            }
            #expect(first.hasSuffix("fast!"), "\(first)")
            #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
            #expect(closed)
        }
    }

    @Test(
        "Requests with content between answered ones reach the router whole, and the next GETs are answered here again"
    )
    func contentBetween() async throws {
        try await Self.withService([:]) { port in
            let answer = try await offloaded {
                let connection = try RawHTTPConnection(port: port)
                defer { connection.close() }
                try connection.send(
                    "GET /fast HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello"
                )
                try connection.send(" world")
                // The POST's answer first: a GET that comes while it is being made goes to the router behind it.
                var received = ""
                while !received.contains("hello world") { received += try connection.receive(atLeast: 1) }
                try connection.send(
                    "GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                return received + connection.receiveUntilClosed().text
            }
            let parts = answer.components(separatedBy: "HTTP/1.1 200")
            #expect(parts.count == 5, "\(answer)")
            guard parts.count == 5 else { return }
            #expect(parts[1].contains("x-made: here") && parts[1].hasSuffix("fast!"), "\(answer)")
            #expect(parts[2].hasSuffix("hello world"), "the body was not the router's whole: \(answer)")
            #expect(parts[3].contains("x-made: here"), "the GET after the POST was not answered here: \(answer)")
            #expect(parts[4].hasSuffix("routed!"), "\(answer)")
        }
    }

    @Test("After a chunked request the decoder reads the rest of the connection: nothing is answered out of frame")
    func chunkedHandsOver() async throws {
        try await Self.withService([:]) { port in
            let answer = try await offloaded {
                let connection = try RawHTTPConnection(port: port)
                defer { connection.close() }
                try connection.send(
                    "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                        + "GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                return connection.receiveUntilClosed().text
            }
            let parts = answer.components(separatedBy: "HTTP/1.1 200")
            #expect(parts.count == 4, "\(answer)")
            guard parts.count == 4 else { return }
            #expect(parts[1].hasSuffix("hello"), "\(answer)")
            #expect(parts[2].hasSuffix("routed!") && parts[3].hasSuffix("routed!"), "\(answer)")
        }
    }

    @Test("A head that stops short behind answered requests in the same packet is refused with 408")
    func pipelinedSlowHead() async throws {
        try await Self.withService(["WEDSYNC_HTTP_HEADER_TIMEOUT_MS": "300"]) { port in
            let (answer, closed) = try await offloaded {
                let connection = try RawHTTPConnection(port: port)
                defer { connection.close() }
                try connection.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nX-Slow: a")
                return connection.receiveUntilClosed()
            }
            #expect(
                answer.hasPrefix("HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-made: here\r\n\r\nfast!HTTP/1.1 408"),
                "\(answer)"
            )
            #expect(closed)
        }
    }

    @Test("Each head that waits behind an answered one gets the whole header timeout from its own first bytes")
    func pipelinedHeadsKeepTheirOwnClock() async throws {
        try await Self.withService(["WEDSYNC_HTTP_HEADER_TIMEOUT_MS": "2000"]) { port in
            let answer = try await offloaded {
                let connection = try RawHTTPConnection(port: port)
                defer { connection.close() }
                // Each write ends inside the next head; the third head's clock starts 1.2 s after the first's.
                try connection.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /fa")
                _ = try connection.receive(atLeast: 57)
                Thread.sleep(forTimeInterval: 1.2)
                try connection.send("st HTTP/1.1\r\nHost: x\r\n\r\nGET /fa")
                _ = try connection.receive(atLeast: 57)
                Thread.sleep(forTimeInterval: 1.2)
                try connection.send("st HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                return connection.receiveUntilClosed().text
            }
            #expect(answer.hasSuffix("routed!"), "\(answer)")
        }
    }
}
