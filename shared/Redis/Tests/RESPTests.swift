import NIOCore
import Testing

@testable import WedSyncRedis

/// RESP2 as the connection writes and reads it, however the socket splits a reply.
@Suite("RESP2 encoding and reading")
struct RESPTests {
    static func buffer(_ text: String) -> ByteBuffer {
        ByteBuffer(string: text)
    }

    @Test("A command is an array of bulk strings, binary-safe")
    func encodesCommands() {
        var buffer = ByteBuffer()
        RESP.write(["SET", RedisArgument([0x0D, 0x0A, 0x00]), RedisArgument(1_234_567_890)], into: &buffer)
        #expect(buffer == Self.buffer("*3\r\n$3\r\nSET\r\n$3\r\n\r\n\0\r\n$10\r\n1234567890\r\n"))
        #expect(RESP.encodedSize([["SET", "key", "value"]]) >= buffer.readableBytes)
    }

    @Test(
        "Every reply kind is read",
        arguments: [
            ("+OK\r\n", RedisValue.simpleString("OK")),
            ("-WRONGTYPE Operation against a key\r\n", .error("WRONGTYPE Operation against a key")),
            (":-42\r\n", .integer(-42)),
            ("$5\r\nhe\r\no\r\n", .bulkString(Array("he\r\no".utf8))),
            ("$0\r\n\r\n", .bulkString([])),
            ("$-1\r\n", .null),
            ("*-1\r\n", .null),
            ("*0\r\n", .array([])),
            (
                "*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n-ERR inner\r\n",
                .array([.bulkString([0x61]), .array([.integer(1), .null]), .error("ERR inner")])
            ),
        ]
    )
    func readsReplies(_ text: String, _ expected: RedisValue) throws {
        var buffer = Self.buffer(text)
        #expect(try RESP.read(&buffer) == expected)
        #expect(buffer.readableBytes == 0)
    }

    @Test("A reply cut anywhere waits for the rest, and consumes nothing until it is whole")
    func waitsForTheRest() throws {
        let text = "*3\r\n$5\r\nhello\r\n:7\r\n*1\r\n+OK\r\n+NEXT\r\n"
        let bytes = Array(text.utf8)
        for cut in 0..<(bytes.count - 7) {
            var buffer = ByteBuffer(bytes: bytes[..<cut])
            #expect(try RESP.read(&buffer) == nil, "cut at \(cut)")
            #expect(buffer.readableBytes == cut)
            buffer.writeBytes(bytes[cut...])
            #expect(
                try RESP.read(&buffer)
                    == .array([.bulkString(Array("hello".utf8)), .integer(7), .array([.simpleString("OK")])])
            )
            #expect(try RESP.read(&buffer) == .simpleString("NEXT"))
        }
    }

    @Test(
        "Bytes that are not RESP2 fail the read",
        arguments: [
            "?what\r\n", ":12x\r\n", "$3\r\nabcd\r\n", "$-2\r\n", "*-5\r\n", "+bare\rCR\r\n", "$999999999999\r\n",
        ]
    )
    func refusesGarbage(_ text: String) {
        var buffer = Self.buffer(text)
        #expect(throws: RedisError.self) { _ = try RESP.read(&buffer) }
    }

    @Test("Arrays nested deeper than the bound are refused, not recursed into")
    func boundsNesting() {
        var buffer = Self.buffer(String(repeating: "*1\r\n", count: RESP.maximumDepth + 2) + ":1\r\n")
        #expect(throws: RedisError.self) { _ = try RESP.read(&buffer) }
    }
}
