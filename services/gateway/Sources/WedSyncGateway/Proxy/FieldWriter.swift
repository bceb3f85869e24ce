import WedSyncServiceKit

/// Writes response fields straight into bytes the caller reserved (`ByteBuffer.writeWithUnsafeMutableBytes`): one
/// capacity check for the whole run rather than one per write, and numbers written without making strings of them.
/// Every write checks that it stays within the bytes reserved.
struct FieldWriter {
    private let bytes: UnsafeMutableRawBufferPointer
    /// Bytes written so far.
    private(set) var count = 0

    init(_ bytes: UnsafeMutableRawBufferPointer) {
        self.bytes = bytes
    }

    mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    mutating func append(_ raw: UnsafeRawBufferPointer) {
        precondition(count + raw.count <= bytes.count, "a field run outgrew the bytes reserved for it")
        if !raw.isEmpty { (bytes.baseAddress! + count).copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
        count += raw.count
    }

    /// Writes `value` (0 or more) in decimal.
    mutating func appendDecimal(_ value: Int) {
        var remaining = UInt64(max(0, value))
        var digits = 1
        var scale: UInt64 = 10
        while remaining >= scale, digits < 19 {
            digits += 1
            scale &*= 10
        }
        precondition(count + digits <= bytes.count, "a field run outgrew the bytes reserved for it")
        for index in stride(from: count + digits - 1, through: count, by: -1) {
            bytes[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
        }
        count += digits
    }

    /// Writes `nanoseconds` in milliseconds with three decimals (`12.345`), as ``GatewayProxy/format(milliseconds:)``
    /// writes a duration.
    mutating func appendMilliseconds(nanoseconds: UInt64) {
        let micros = Int(nanoseconds / 1000)
        appendDecimal(micros / 1000)
        let fraction = micros % 1000
        precondition(count + 4 <= bytes.count, "a field run outgrew the bytes reserved for it")
        bytes[count] = UInt8(ascii: ".")
        bytes[count + 1] = UInt8(ascii: "0") + UInt8(fraction / 100)
        bytes[count + 2] = UInt8(ascii: "0") + UInt8(fraction / 10 % 10)
        bytes[count + 3] = UInt8(ascii: "0") + UInt8(fraction % 10)
        count += 4
    }

    /// Writes a new request id (``RequestID/generate()``).
    mutating func appendNewRequestID() {
        precondition(count + RequestID.length <= bytes.count, "a field run outgrew the bytes reserved for it")
        RequestID.write(into: UnsafeMutableRawBufferPointer(rebasing: bytes[count...]))
        count += RequestID.length
    }
}
