/// A reply from Redis (RESP2), binary-safe.
public enum RedisValue: Sendable, Hashable {
    /// A status reply (`+OK`).
    case simpleString(String)
    /// A bulk string: arbitrary bytes.
    case bulkString([UInt8])
    case integer(Int)
    case array([RedisValue])
    /// A nil bulk string or nil array (a missing key).
    case null
    /// An error inside an array reply (a pipelined or `EXEC`ed command that failed). A top-level error reply is
    /// thrown as ``RedisError`` instead.
    case error(String)

    /// The bytes of a bulk or status string; `nil` for anything else.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): bytes
        case .simpleString(let string): Array(string.utf8)
        default: nil
        }
    }

    /// The value as UTF-8 text, for bulk strings, status replies and integers.
    public var string: String? {
        switch self {
        case .bulkString(let bytes): String(decoding: bytes, as: UTF8.self)
        case .simpleString(let string): string
        case .integer(let value): String(value)
        default: nil
        }
    }

    /// The value as an integer, for integer replies and bulk strings holding one.
    public var int: Int? {
        switch self {
        case .integer(let value): value
        case .bulkString, .simpleString: string.flatMap { Int($0) }
        default: nil
        }
    }

    /// The elements of an array reply.
    public var array: [RedisValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var isNull: Bool { self == .null }
}

/// One argument of a Redis command: arbitrary bytes, built from text, bytes or numbers.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }
    public init(_ value: Int) { self.bytes = Array(String(value).utf8) }
    public init(_ value: Double) { self.bytes = Array(String(value).utf8) }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }
}
