import NIOCore
import Synchronization

/// The id of the request being handled, carried across `await`s as a task-local so that outgoing calls
/// (``ServiceClient``) pass it on without every function taking a parameter.
public enum RequestID {
    /// The current request's id, or `nil` outside a request.
    @TaskLocal public static var current: String?

    /// The header that carries it, as in most tracing setups.
    public static let headerName = "x-request-id"

    /// A new id: 32 lowercase hex digits, unique across processes (a random half drawn once per process) and
    /// within one (a counter mixed through a bijection, so consecutive ids do not look consecutive). No system
    /// call per request.
    public static func generate() -> String {
        String(unsafeUninitializedCapacity: 32) { buffer in
            spell(next(), into: UnsafeMutableRawBufferPointer(buffer))
            return 32
        }
    }

    /// The length of a generated id (hex digits).
    public static let length = 32

    /// Writes a new id (``generate()``) at the start of `bytes` (at least ``length`` of them).
    public static func write(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= length)
        spell(next(), into: bytes)
    }

    /// The two halves of the next id.
    private static func next() -> (UInt64, UInt64) {
        (processPrefix, mix(counter.wrappingAdd(1 as UInt64, ordering: .relaxed).newValue))
    }

    /// Writes `id` as 32 lowercase hex digits at the start of `bytes`.
    private static func spell(_ id: (UInt64, UInt64), into bytes: UnsafeMutableRawBufferPointer) {
        let digits: StaticString = "0123456789abcdef"
        for index in 0..<16 {
            let shift = UInt64(60 - 4 * index)
            bytes[index] = digits.utf8Start[Int((id.0 >> shift) & 0xF)]
            bytes[16 + index] = digits.utf8Start[Int((id.1 >> shift) & 0xF)]
        }
    }

    private static let processPrefix: UInt64 = {
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }()
    private static let counter: Atomic<UInt64> = {
        var generator = SystemRandomNumberGenerator()
        return Atomic(generator.next())
    }()

    /// SplitMix64's finaliser: a bijection on 64 bits.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
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
}
