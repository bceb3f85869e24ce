import NIOCore

/// A `GET` or `HEAD` request head read straight from a connection's bytes (``FastRequestScanner``), for an
/// ``HTTPFastResponder``: HTTP/1.1, kept alive, without a body, in the strict grammar of RFC 9112 (no folded lines,
/// no bare CR or LF, no `Transfer-Encoding`, `Upgrade` or `Expect`).
public struct FastRequestHead: Sendable {
    /// The two methods a fast responder is asked about.
    public enum Method: Sendable, Equatable {
        case get
        case head
    }

    public let method: Method
    /// The request target as sent (origin form: it starts with `/`).
    public let target: String
    /// The field lines as sent, each ending in CRLF (the empty line that ends the head excluded).
    let fieldLines: ByteBuffer

    /// A head for tests and callers that have one in hand: `fields` are written as field lines.
    public init(method: Method, target: String, fields: [(String, String)] = []) {
        self.method = method
        self.target = target
        var lines = ByteBuffer()
        for (name, value) in fields { lines.writeString("\(name): \(value)\r\n") }
        self.fieldLines = lines
    }

    init(method: Method, target: String, fieldLines: ByteBuffer) {
        self.method = method
        self.target = target
        self.fieldLines = fieldLines
    }

    /// Calls `body` with each field's name (as sent) and value (without the whitespace around it), in order, until it
    /// returns `false`. The bytes are valid only inside `body`.
    public func forEachField(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool) {
        fieldLines.withUnsafeReadableBytes { bytes in
            var index = 0
            let count = bytes.count
            while index < count {
                let nameStart = index
                while index < count, bytes[index] != UInt8(ascii: ":") { index += 1 }
                let nameEnd = index
                index += 1
                while index < count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") {
                    index += 1
                }
                let valueStart = index
                while index < count, bytes[index] != UInt8(ascii: "\r") { index += 1 }
                var valueEnd = index
                while valueEnd > valueStart, bytes[valueEnd - 1] == UInt8(ascii: " ") || bytes[valueEnd - 1] == 9 {
                    valueEnd -= 1
                }
                index += 2
                let name = UnsafeRawBufferPointer(rebasing: bytes[nameStart..<nameEnd])
                let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])
                guard body(name, value) else { return }
            }
        }
    }

    /// Whether `bytes` spell `lowercase` in any case (ASCII).
    @inlinable
    public static func equals(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for index in 0..<bytes.count where bytes[index] | 0x20 != expected[index] | 0x20 {
            return false
        }
        return true
    }
}
