import NIOCore

/// RESP2, the protocol a Redis server speaks: commands written as arrays of bulk strings, replies read as they
/// arrive, however the socket splits them.
enum RESP {
    /// The longest bulk string a reply may announce (Redis' own `proto-max-bulk-len` default).
    static let maximumBulkBytes = 512 << 20
    /// The most elements an array reply may announce, and the deepest it may nest.
    static let maximumArrayCount = 1 << 24
    static let maximumDepth = 16

    /// Writes `arguments` as one command: `*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n`.
    static func write(_ arguments: [RedisArgument], into buffer: inout ByteBuffer) {
        writeHeader(UInt8(ascii: "*"), arguments.count, into: &buffer)
        for argument in arguments {
            writeHeader(UInt8(ascii: "$"), argument.bytes.count, into: &buffer)
            buffer.writeBytes(argument.bytes)
            buffer.writeStaticString(crlf)
        }
    }

    /// The bytes `write` produces for `commands`, for sizing a buffer.
    static func encodedSize(_ commands: [[RedisArgument]]) -> Int {
        var size = 0
        for arguments in commands {
            size += 16
            for argument in arguments { size += argument.bytes.count + 16 }
        }
        return size
    }

    private static let crlf: StaticString = "\r\n"

    private static func writeHeader(_ marker: UInt8, _ count: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(marker)
        if count < 10 {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(count))
        } else {
            buffer.writeString(String(count))
        }
        buffer.writeStaticString(crlf)
    }

    /// Reads one whole reply from the front of `buffer`, consuming it; `nil` (and `buffer` untouched) while the
    /// reply has not fully arrived. Throws on bytes that are not RESP2.
    static func read(_ buffer: inout ByteBuffer) throws(RedisError) -> RedisValue? {
        var view = buffer
        guard let value = try readValue(&view, depth: 0) else { return nil }
        buffer = view
        return value
    }

    private static func readValue(_ buffer: inout ByteBuffer, depth: Int) throws(RedisError) -> RedisValue? {
        guard let marker = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        guard let line = try readLine(&buffer, from: buffer.readerIndex + 1) else { return nil }
        switch marker {
        case UInt8(ascii: "+"):
            return .simpleString(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: "-"):
            return .error(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: ":"):
            return .integer(try integer(line))
        case UInt8(ascii: "$"):
            let length = try integer(line)
            if length == -1 { return .null }
            guard length >= 0, length <= maximumBulkBytes else {
                throw RedisError(.unexpectedReply, "a bulk reply announced \(length) bytes")
            }
            guard buffer.readableBytes >= length + 2 else { return nil }
            let bytes = buffer.readBytes(length: length)!
            guard buffer.readInteger(as: UInt8.self) == UInt8(ascii: "\r"),
                buffer.readInteger(as: UInt8.self) == UInt8(ascii: "\n")
            else {
                throw RedisError(.unexpectedReply, "a bulk reply did not end with CRLF")
            }
            return .bulkString(bytes)
        case UInt8(ascii: "*"):
            let count = try integer(line)
            if count == -1 { return .null }
            guard count >= 0, count <= maximumArrayCount, depth < maximumDepth else {
                throw RedisError(.unexpectedReply, "an array reply announced \(count) elements")
            }
            var elements: [RedisValue] = []
            elements.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                guard let element = try readValue(&buffer, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default:
            throw RedisError(.unexpectedReply, "a reply began with byte \(marker)")
        }
    }

    /// The line starting at `start` (after the type marker), without its CRLF; moves the reader past the CRLF.
    private static func readLine(_ buffer: inout ByteBuffer, from start: Int) throws(RedisError) -> [UInt8]? {
        let end = buffer.writerIndex
        var index = start
        while index < end {
            if buffer.getInteger(at: index, as: UInt8.self) == UInt8(ascii: "\r") {
                guard index + 1 < end else { return nil }
                guard buffer.getInteger(at: index + 1, as: UInt8.self) == UInt8(ascii: "\n") else {
                    throw RedisError(.unexpectedReply, "a reply line held a bare CR")
                }
                let line = buffer.getBytes(at: start, length: index - start) ?? []
                buffer.moveReaderIndex(to: index + 2)
                return line
            }
            index += 1
        }
        // A status or error line, or a length, longer than any Redis writes: not RESP.
        if end - start > 64 << 10 { throw RedisError(.unexpectedReply, "a reply line did not end") }
        return nil
    }

    private static func integer(_ line: [UInt8]) throws(RedisError) -> Int {
        guard let value = Int(String(decoding: line, as: UTF8.self)) else {
            throw RedisError(.unexpectedReply, "a reply held a malformed integer")
        }
        return value
    }
}
