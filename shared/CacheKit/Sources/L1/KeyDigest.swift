/// A key's identity in L1: a 128-bit SipHash of its UTF-8 bytes (SipHash-1-3, the rounds Swift's own `Hasher`
/// uses, with the 128-bit output of the reference implementation), keyed at random once per process.
///
/// The L1 finds an entry by its digest alone and never compares the key's bytes, as Varnish identifies an object by
/// a SHA-256 digest of its hash data: the comparison would read the stored key's bytes, a cache line of its own on
/// every read. Two keys share a digest with a chance of 2^-128 per pair, about 10^-29 for a cache of 100,000 entries
/// read with a million keys a second for a century; and as the key is secret and SipHash a keyed pseudorandom
/// function, no caller can make up a key to collide with another tenant's.
struct KeyDigest: Sendable, Equatable {
    let first: UInt64
    let second: UInt64

    /// SipHash's 128-bit key.
    struct Secret: Sendable {
        let k0: UInt64
        let k1: UInt64

        /// This process's, from the system's random generator.
        static let process: Secret = {
            var generator = SystemRandomNumberGenerator()
            return Secret(k0: generator.next(), k1: generator.next())
        }()

        /// A fixed one, for simulations that must give one answer for one trace.
        static func seeded(_ seed: UInt64) -> Secret { Secret(k0: seed, k1: seed ^ 0x9E37_79B9_7F4A_7C15) }
    }

    init(_ key: String, secret: Secret = .process) {
        var key = key
        (first, second) = key.withUTF8 {
            Self.sipHash(UnsafeRawBufferPointer($0), secret, compression: 1, finalization: 3)
        }
    }

    /// SipHash-c-d with the 128-bit output (`v1 ^= 0xee` at the start, `0xee` then `0xdd` in the finalisations).
    @inline(__always)
    static func sipHash(_ bytes: UnsafeRawBufferPointer, _ secret: Secret, compression: Int, finalization: Int)
        -> (UInt64, UInt64)
    {
        var v0 = secret.k0 ^ 0x736f_6d65_7073_6575
        var v1 = secret.k1 ^ 0x646f_7261_6e64_6f6d ^ 0xee
        var v2 = secret.k0 ^ 0x6c79_6765_6e65_7261
        var v3 = secret.k1 ^ 0x7465_6462_7974_6573
        @inline(__always) func rounds(_ count: Int) {
            for _ in 0..<count {
                v0 &+= v1
                v1 = rotated(v1, 13)
                v1 ^= v0
                v0 = rotated(v0, 32)
                v2 &+= v3
                v3 = rotated(v3, 16)
                v3 ^= v2
                v0 &+= v3
                v3 = rotated(v3, 21)
                v3 ^= v0
                v2 &+= v1
                v1 = rotated(v1, 17)
                v1 ^= v2
                v2 = rotated(v2, 32)
            }
        }
        let count = bytes.count
        var offset = 0
        while offset + 8 <= count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            v3 ^= word
            rounds(compression)
            v0 ^= word
            offset += 8
        }
        var last = UInt64(truncatingIfNeeded: count) << 56
        var shift: UInt64 = 0
        while offset < count {
            last |= UInt64(bytes[offset]) << shift
            shift += 8
            offset += 1
        }
        v3 ^= last
        rounds(compression)
        v0 ^= last
        v2 ^= 0xee
        rounds(finalization)
        let first = v0 ^ v1 ^ v2 ^ v3
        v1 ^= 0xdd
        rounds(finalization)
        return (first, v0 ^ v1 ^ v2 ^ v3)
    }

    @inline(__always)
    private static func rotated(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }
}
