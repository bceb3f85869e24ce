/// Redis Cluster's key → hash slot function: CRC16 (XMODEM) of the key, or of its hash tag, modulo 16384.
///
/// A hash tag is the part between the first `{` and the next `}` when it is not empty: `wsc:{ns/key}:m` and
/// `wsc:{ns/key}:d` share the slot of `ns/key`, so one script or `MGET` may touch both.
public enum RedisClusterSlot {
    public static let count = 16_384

    public static func of(_ key: String) -> Int {
        of(Array(key.utf8))
    }

    public static func of(_ key: [UInt8]) -> Int {
        var hashed = key[...]
        if let open = key.firstIndex(of: UInt8(ascii: "{")),
            let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        {
            hashed = key[(open + 1)..<close]
        }
        return Int(crc16(hashed) & 0x3FFF)
    }

    /// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as the Redis Cluster specification defines it.
    static func crc16(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}
