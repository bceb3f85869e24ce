import WedSyncModels
import WedSyncPostgres

/// Rows in PostgreSQL's `COPY ... FROM STDIN` text format (tab-separated, `\N` for NULL, backslash escapes),
/// built in a byte buffer and handed to the copy a chunk at a time.
struct CopyBuffer {
    private(set) var bytes: [UInt8] = []
    private let writer: PostgresCopyWriter
    private let flushThreshold: Int
    private var fieldsInRow = 0
    private(set) var rows = 0

    init(writer: PostgresCopyWriter, flushThreshold: Int = 1 << 20) {
        self.writer = writer
        self.flushThreshold = flushThreshold
        bytes.reserveCapacity(flushThreshold + 4096)
    }

    private mutating func separate() {
        if fieldsInRow > 0 { bytes.append(9) }
        fieldsInRow += 1
    }

    mutating func int(_ value: Int) {
        separate()
        appendDigits(value)
    }

    /// A text value, escaped for the text format.
    mutating func text(_ value: String) {
        separate()
        for byte in value.utf8 {
            switch byte {
            case 92: bytes.append(92); bytes.append(92)
            case 9: bytes.append(92); bytes.append(UInt8(ascii: "t"))
            case 10: bytes.append(92); bytes.append(UInt8(ascii: "n"))
            case 13: bytes.append(92); bytes.append(UInt8(ascii: "r"))
            default: bytes.append(byte)
            }
        }
    }

    /// Text known to need no escaping (generated identifiers, enum values).
    mutating func plain(_ value: StaticString) {
        separate()
        value.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func optionalText(_ value: String?) {
        if let value { text(value) } else { null() }
    }

    mutating func null() {
        separate()
        bytes.append(92)
        bytes.append(UInt8(ascii: "N"))
    }

    mutating func bool(_ value: Bool) {
        separate()
        bytes.append(value ? UInt8(ascii: "t") : UInt8(ascii: "f"))
    }

    mutating func day(_ value: CalendarDay) {
        separate()
        let (year, month, day) = CalendarDay.civilDate(fromDays: value.daysSinceEpoch)
        appendPadded(year, width: 4)
        bytes.append(UInt8(ascii: "-"))
        appendPadded(month, width: 2)
        bytes.append(UInt8(ascii: "-"))
        appendPadded(day, width: 2)
    }

    /// A `time` from minutes after midnight.
    mutating func time(minutes: Int) {
        separate()
        appendPadded(minutes / 60, width: 2)
        bytes.append(UInt8(ascii: ":"))
        appendPadded(minutes % 60, width: 2)
        bytes.append(contentsOf: Array(":00".utf8))
    }

    /// A `numeric(12,2)` from pence.
    mutating func money(pence: Int) {
        separate()
        appendDigits(pence / 100)
        bytes.append(UInt8(ascii: "."))
        appendPadded(pence % 100, width: 2)
    }

    /// Ends the row, and sends the buffer once it is large enough.
    mutating func endRow() async throws {
        bytes.append(10)
        fieldsInRow = 0
        rows += 1
        if bytes.count >= flushThreshold { try await flush() }
    }

    mutating func flush() async throws {
        guard !bytes.isEmpty else { return }
        try await writer.write(bytes)
        bytes.removeAll(keepingCapacity: true)
    }

    private mutating func appendDigits(_ value: Int) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            appendDigits(-value)
            return
        }
        if value >= 10 { appendDigits(value / 10) }
        bytes.append(UInt8(48 + value % 10))
    }

    private mutating func appendPadded(_ value: Int, width: Int) {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        for _ in digits..<max(digits, width) { bytes.append(48) }
        appendDigits(value)
    }
}
