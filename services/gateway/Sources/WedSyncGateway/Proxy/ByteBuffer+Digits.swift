import NIOCore

extension ByteBuffer {
    /// Writes `value` (0 or more) in decimal, without making a string of it.
    mutating func writeDecimal(_ value: Int) {
        var remaining = UInt64(max(0, value))
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { scratch in
            repeat {
                scratch[31 - count] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
                count += 1
            } while remaining > 0 && count < 20
            writeBytes(UnsafeRawBufferPointer(rebasing: scratch[(32 - count)...]))
        }
    }

    /// Writes `duration` in milliseconds with three decimals (`12.345`), as ``GatewayProxy/format(milliseconds:)``
    /// does, without making a string of it.
    mutating func writeMilliseconds(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let micros = max(0, Int(seconds) * 1_000_000 + Int(attoseconds / 1_000_000_000_000))
        writeDecimal(micros / 1000)
        let fraction = micros % 1000
        writeInteger(UInt8(ascii: "."))
        writeInteger(UInt8(ascii: "0") + UInt8(fraction / 100))
        writeInteger(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        writeInteger(UInt8(ascii: "0") + UInt8(fraction % 10))
    }
}
