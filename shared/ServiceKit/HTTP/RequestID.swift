/// The id of the request being handled, carried across `await`s as a task-local so that outgoing calls
/// (``ServiceClient``) pass it on without every function taking a parameter.
public enum RequestID {
    /// The current request's id, or `nil` outside a request.
    @TaskLocal public static var current: String?

    /// The header that carries it, as in most tracing setups.
    public static let headerName = "x-request-id"

    /// A new random id: 32 lowercase hex digits.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return hex(high) + hex(low)
    }

    /// Whether a caller-supplied id is safe to adopt: 1 to 128 characters of `[A-Za-z0-9._:-]`, so it cannot
    /// inject anything into logs or headers.
    public static func isAcceptable(_ id: Substring) -> Bool {
        guard !id.isEmpty, id.utf8.count <= 128 else { return false }
        return id.utf8.allSatisfy { byte in
            (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: ":")
        }
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
