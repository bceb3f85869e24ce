import NIOCore

/// Reads the request at the start of a connection's unread bytes in the strict grammar of RFC 9112, without
/// allocating, to find where it ends: a simple `GET` or `HEAD` is answered from its bytes (``FastRequestHead``),
/// and any other request in that grammar is handed to NIO's HTTP decoder exactly as long as it is, so the decoder
/// is between requests again after it. Whatever the grammar here does not cover (a folded line, a bare CR or LF, an
/// HTTP version other than 1.1, `Transfer-Encoding`, `Upgrade`, `Expect`, `CONNECT`, `Connection` other than
/// `keep-alive`, more than one `Content-Length`) is left to the decoder.
enum FastRequestScanner {
    /// What the bytes at the reader index hold.
    enum Scan {
        /// The start of a request in the grammar here, not yet whole.
        case incomplete
        /// A request this grammar does not frame: the HTTP decoder reads the connection from here on.
        case unsupported
        /// A whole head of `headLength` bytes followed by `contentLength` bytes of content; `head` is set for a
        /// `GET` or `HEAD` in origin form without content.
        case request(head: FastRequestHead?, headLength: Int, contentLength: Int)
    }

    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")
    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")

    /// The request at `buffer`'s reader index, read no further than `limit` bytes (a head that does not end by then
    /// is left to the decoder, which refuses it).
    static func scan(_ buffer: ByteBuffer, limit: Int) -> Scan {
        switch buffer.withUnsafeReadableBytes({ layout(of: $0, limit: limit) }) {
        case .incomplete: return .incomplete
        case .unsupported: return .unsupported
        case .request(let method?, let target, let fields, let headLength, 0):
            let start = buffer.readerIndex
            let head = FastRequestHead(
                method: method,
                target: buffer.getString(at: start + target.lowerBound, length: target.count)!,
                fieldLines: buffer.getSlice(at: start + fields.lowerBound, length: fields.count)!
            )
            return .request(head: head, headLength: headLength, contentLength: 0)
        case .request(_, _, _, let headLength, let contentLength):
            return .request(head: nil, headLength: headLength, contentLength: contentLength)
        }
    }

    /// Where the parts of the request at the start of `bytes` lie.
    private enum Layout {
        case incomplete
        case unsupported
        /// `method` is set for `GET` and `HEAD` in origin form.
        case request(
            method: FastRequestHead.Method?,
            target: Range<Int>,
            fields: Range<Int>,
            headLength: Int,
            contentLength: Int
        )
    }

    private static func layout(of bytes: UnsafeRawBufferPointer, limit: Int) -> Layout {
        let count = min(bytes.count, limit)
        // Out of bytes before the head ended: more may come, unless the limit was reached.
        let ranOut: Layout = bytes.count > limit ? .unsupported : .incomplete
        var index = 0
        while index < count, isTokenByte(bytes[index]) { index += 1 }
        guard index < count else { return ranOut }
        guard index > 0, bytes[index] == space else { return .unsupported }
        let method = UnsafeRawBufferPointer(rebasing: bytes[0..<index])
        guard !spells(method, "CONNECT") else { return .unsupported }
        index += 1
        let targetStart = index
        while index < count, bytes[index] > space, bytes[index] < 0x7F { index += 1 }
        guard index < count else { return ranOut }
        guard index > targetStart, bytes[index] == space else { return .unsupported }
        let target = targetStart..<index
        index += 1
        let version: StaticString = "HTTP/1.1\r\n"
        let available = min(count - index, version.utf8CodeUnitCount)
        for offset in 0..<available where bytes[index + offset] != version.utf8Start[offset] {
            return .unsupported
        }
        guard available == version.utf8CodeUnitCount else { return ranOut }
        index += version.utf8CodeUnitCount
        let fieldsStart = index
        var contentLength: Int?
        var fieldCount = 0
        while true {
            guard count - index >= 2 else { return ranOut }
            if bytes[index] == cr {
                guard bytes[index + 1] == lf else { return .unsupported }
                break
            }
            // NIO's decoder refuses more fields than this.
            fieldCount += 1
            guard fieldCount <= maximumFieldCount else { return .unsupported }
            let nameStart = index
            while index < count, isTokenByte(bytes[index]) { index += 1 }
            guard index < count else { return ranOut }
            // No name, a space before the colon, or a folded line.
            guard index > nameStart, bytes[index] == UInt8(ascii: ":") else { return .unsupported }
            let name = UnsafeRawBufferPointer(rebasing: bytes[nameStart..<index])
            index += 1
            let valueStart = index
            while index < count, bytes[index] == tab || (bytes[index] >= space && bytes[index] != 0x7F) { index += 1 }
            // The value stops at a control byte, which must be the CR of its line's CRLF.
            guard count - index >= 2 else { return index < count && bytes[index] != cr ? .unsupported : ranOut }
            guard bytes[index] == cr, bytes[index + 1] == lf else { return .unsupported }
            let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<index])
            index += 2
            switch name.count {
            case 14 where FastRequestHead.equals(name, "content-length"):
                guard contentLength == nil, let length = decimal(value) else { return .unsupported }
                contentLength = length
            case 17 where FastRequestHead.equals(name, "transfer-encoding"),
                7 where FastRequestHead.equals(name, "upgrade"),
                6 where FastRequestHead.equals(name, "expect"):
                return .unsupported
            case 10 where FastRequestHead.equals(name, "connection"):
                guard FastRequestHead.equals(trimmed(value), "keep-alive") else { return .unsupported }
            case 16 where FastRequestHead.equals(name, "proxy-connection"):
                // llhttp reads it as `Connection`.
                return .unsupported
            default:
                break
            }
        }
        let length = contentLength ?? 0
        // Method names are case-sensitive (RFC 9110 §9.1): `GET` and `HEAD` as such, in origin form, without content.
        var answerable: FastRequestHead.Method?
        if length == 0, bytes[targetStart] == UInt8(ascii: "/") {
            if spells(method, "GET") {
                answerable = .get
            } else if spells(method, "HEAD") {
                answerable = .head
            }
        }
        return .request(
            method: answerable,
            target: target,
            fields: fieldsStart..<index,
            headLength: index + 2,
            contentLength: length
        )
    }

    /// Whether `bytes` are exactly `expected`.
    private static func spells(_ bytes: UnsafeRawBufferPointer, _ expected: StaticString) -> Bool {
        guard bytes.count == expected.utf8CodeUnitCount else { return false }
        return UnsafeRawBufferPointer(start: expected.utf8Start, count: expected.utf8CodeUnitCount).elementsEqual(bytes)
    }

    /// `value` without the spaces and tabs around it.
    private static func trimmed(_ value: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var start = 0
        var end = value.count
        while start < end, value[start] == space || value[start] == tab { start += 1 }
        while end > start, value[end - 1] == space || value[end - 1] == tab { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: value[start..<end])
    }

    /// The most fields a head read here may have (NIO's decoder is configured to refuse more).
    static let maximumFieldCount = 1000

    /// A `Content-Length` value: 1 to 15 digits, with spaces or tabs before them and spaces after (llhttp refuses a
    /// tab after the digits).
    private static func decimal(_ value: UnsafeRawBufferPointer) -> Int? {
        var end = value.count
        while end > 0, value[end - 1] == space { end -= 1 }
        guard end == 0 || value[end - 1] != tab else { return nil }
        let digits = trimmed(UnsafeRawBufferPointer(rebasing: value[0..<end]))
        guard (1...15).contains(digits.count) else { return nil }
        var result = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            result = result * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return result
    }

    /// RFC 9110 §5.6.2 `tchar`.
    @inline(__always)
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        tokenBytes[Int(byte)]
    }

    private static let tokenBytes: [Bool] = (0..<256).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(UInt8(byte))
        }
    }
}
