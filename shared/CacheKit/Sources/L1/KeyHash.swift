/// A 64-bit hash of a key's UTF-8 bytes that is the same in every process for the same seed (FNV-1a, then a
/// finalising mix so that every bit depends on every byte): for simulations and the reference policies' sketches,
/// where Swift's per-process random hashing would give a different answer each run.
public enum KeyHash {
    public static func hash(_ key: String, seed: UInt64) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        // murmur3's finaliser.
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        hash &*= 0xc4ce_b9fe_1a85_ec53
        hash ^= hash >> 33
        return hash
    }
}
