import NIOCore
import Testing

@testable import WedSyncServiceKit

/// The strict reading of request heads before NIO's decoder (``FastRequestScanner``): what it answers from the bytes,
/// what it hands to the decoder and how long that request is, and what it leaves to the decoder for good.
@Suite("Service kit: request heads read from the bytes")
struct FastRequestScannerTests {
    /// What a scan should find.
    enum Expected: CustomStringConvertible {
        case incomplete
        case unsupported
        /// Answerable: a `GET` or `HEAD` of `target`, `length` bytes long.
        case answerable(FastRequestHead.Method, String, length: Int)
        /// Handed to the decoder: a head of `length` bytes and `content` bytes after it.
        case handedOn(length: Int, content: Int)

        var description: String {
            switch self {
            case .incomplete: "incomplete"
            case .unsupported: "unsupported"
            case .answerable(let method, let target, let length): "\(method) \(target) (\(length) bytes)"
            case .handedOn(let length, let content): "handed on (\(length) + \(content) bytes)"
            }
        }
    }

    static let simple = "GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n"

    static let rows: [(String, String, Expected)] = [
        ("a GET", simple, .answerable(.get, "/a?b=1", length: simple.utf8.count)),
        ("a HEAD", "HEAD /a HTTP/1.1\r\n\r\n", .answerable(.head, "/a", length: 20)),
        ("only the first of two pipelined requests", simple + simple, .answerable(.get, "/a?b=1", length: 32)),
        (
            "keep-alive asked for", "GET /a HTTP/1.1\r\nConnection: Keep-Alive\r\n\r\n",
            .answerable(.get, "/a", length: 43)
        ),
        ("an empty body declared", "GET /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n", .answerable(.get, "/a", length: 38)),
        ("RFC 9110 §9.1: methods are case-sensitive", "get /a HTTP/1.1\r\n\r\n", .handedOn(length: 19, content: 0)),
        (
            "a POST with its content", "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
            .handedOn(length: 39, content: 5)
        ),
        ("a GET with content", "GET /a HTTP/1.1\r\ncontent-length:  12 \r\n\r\n", .handedOn(length: 41, content: 12)),
        ("absolute form", "GET http://x/a HTTP/1.1\r\n\r\n", .handedOn(length: 27, content: 0)),
        ("asterisk form", "OPTIONS * HTTP/1.1\r\n\r\n", .handedOn(length: 22, content: 0)),
        ("RFC 9112 §6.1: chunked", "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", .unsupported),
        (
            "RFC 9112 §6.3: two lengths", "POST /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nab",
            .unsupported
        ),
        ("a length that is not a number", "POST /a HTTP/1.1\r\nContent-Length: 1a\r\n\r\n", .unsupported),
        ("HTTP/1.0", "GET /a HTTP/1.0\r\n\r\n", .unsupported),
        ("llhttp: Proxy-Connection is Connection", "GET /a HTTP/1.1\r\nProxy-Connection: close\r\n\r\n", .unsupported),
        ("llhttp: no tab after a length", "GET /a HTTP/1.1\r\nContent-Length: 0\t\r\n\r\n", .unsupported),
        ("closing the connection", "GET /a HTTP/1.1\r\nConnection: close\r\n\r\n", .unsupported),
        ("an upgrade", "GET /a HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", .unsupported),
        ("an expectation", "PUT /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", .unsupported),
        ("CONNECT", "CONNECT x:443 HTTP/1.1\r\n\r\n", .unsupported),
        ("RFC 9112 §5.2: a folded line", "GET /a HTTP/1.1\r\nX: a\r\n b\r\n\r\n", .unsupported),
        ("RFC 9112 §2.2: bare LF", "GET /a HTTP/1.1\nHost: x\n\n", .unsupported),
        ("RFC 9112 §2.2: a bare CR in a value", "GET /a HTTP/1.1\r\nX: a\rb\r\n\r\n", .unsupported),
        ("RFC 9112 §5.1: whitespace before the colon", "GET /a HTTP/1.1\r\nHost : x\r\n\r\n", .unsupported),
        ("a field without a name", "GET /a HTTP/1.1\r\n: x\r\n\r\n", .unsupported),
        ("a space in the target", "GET /a b HTTP/1.1\r\n\r\n", .unsupported),
        ("another version", "GET /a HTX/1.1\r\n", .unsupported),
        ("nothing yet", "", .incomplete),
        ("the method so far", "GE", .incomplete),
        ("the version so far", "GET /a HT", .incomplete),
        ("a field so far", "GET /a HTTP/1.1\r\nHost: x", .incomplete),
        ("a field's CR so far", "GET /a HTTP/1.1\r\nHost: x\r", .incomplete),
        ("all but the last CRLF", "GET /a HTTP/1.1\r\nHost: x\r\n", .incomplete),
        ("a head past the limit", "GET /a HTTP/1.1\r\nX: " + String(repeating: "a", count: 200), .unsupported),
    ]

    @Test("Each head is read as RFC 9112 frames it, or left to the decoder", arguments: rows)
    func row(_ name: String, _ bytes: String, _ expected: Expected) {
        let scanned = FastRequestScanner.scan(ByteBuffer(string: bytes), limit: 128)
        switch (scanned, expected) {
        case (.incomplete, .incomplete), (.unsupported, .unsupported):
            break
        case (.request(let head?, let length, 0), .answerable(let method, let target, let expectedLength)):
            #expect(head.method == method, "\(name)")
            #expect(head.target == target, "\(name)")
            #expect(length == expectedLength, "\(name)")
        case (.request(nil, let length, let content), .handedOn(let expectedLength, let expectedContent)):
            #expect(length == expectedLength && content == expectedContent, "\(name)")
        default:
            Issue.record("\(name): expected \(expected), scanned \(scanned)")
        }
    }

    @Test("A head's fields are handed out as sent, values without the whitespace around them")
    func fields() throws {
        var buffer = ByteBuffer(string: "xx")
        buffer.moveReaderIndex(forwardBy: 2)
        buffer.writeString("GET / HTTP/1.1\r\nAccept-Encoding: \t gzip, br \r\nX-Request-Id:r1\r\nEmpty:\r\n\r\n")
        guard case .request(let head?, _, _) = FastRequestScanner.scan(buffer, limit: 1024) else {
            Issue.record("not read")
            return
        }
        var fields: [String] = []
        head.forEachField { name, value in
            fields.append("\(String(decoding: name, as: UTF8.self))=\(String(decoding: value, as: UTF8.self))")
            return true
        }
        #expect(fields == ["Accept-Encoding=gzip, br", "X-Request-Id=r1", "Empty="])
        var first: [String] = []
        head.forEachField { name, _ in
            first.append(String(decoding: name, as: UTF8.self))
            return false
        }
        #expect(first == ["Accept-Encoding"])
        let made = FastRequestHead(method: .get, target: "/", fields: [("Range", "bytes=0-1")])
        var found = false
        made.forEachField { name, value in
            found = FastRequestHead.equals(name, "range") && String(decoding: value, as: UTF8.self) == "bytes=0-1"
            return true
        }
        #expect(found)
    }

    @Test("A head with more fields than NIO's decoder takes is left to the decoder, which refuses it")
    func fieldCount() {
        let fields = String(repeating: "a:b\r\n", count: FastRequestScanner.maximumFieldCount)
        let within = FastRequestScanner.scan(ByteBuffer(string: "GET / HTTP/1.1\r\n\(fields)\r\n"), limit: 1 << 16)
        guard case .request(.some, _, _) = within else {
            Issue.record("\(within)")
            return
        }
        let over = FastRequestScanner.scan(ByteBuffer(string: "GET / HTTP/1.1\r\n\(fields)a:b\r\n\r\n"), limit: 1 << 16)
        guard case .unsupported = over else {
            Issue.record("\(over)")
            return
        }
    }
}
