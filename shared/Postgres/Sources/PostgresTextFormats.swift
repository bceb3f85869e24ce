import Foundation
import WedSyncModels

/// PostgreSQL's ISO text format for `timestamptz`, `timestamp` and `date`, as the client's sessions are set up
/// to use it (`DateStyle=ISO`, `TimeZone=UTC`): `2026-06-13 14:00:00.123456+00`.
enum PostgresDateFormat {
    /// Formats a date as a UTC `timestamptz` literal with microseconds.
    static func format(_ date: Date) -> String {
        let microseconds = (date.timeIntervalSince1970 * 1_000_000).rounded()
        var seconds = Int((microseconds / 1_000_000).rounded(.down))
        let fraction = Int(microseconds - Double(seconds) * 1_000_000)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        seconds -= days * 86_400
        let (year, month, day) = civilDate(fromDays: days)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d.%06d+00",
            year,
            month,
            day,
            seconds / 3600,
            (seconds / 60) % 60,
            seconds % 60,
            fraction
        )
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]]`; `nil` for anything else (including
    /// `infinity`, which has no `Date`).
    static func parse(_ text: String) -> Date? {
        var scanner = DigitScanner(text.utf8)
        guard let year = scanner.number(digits: 4), scanner.skip("-"),
            let month = scanner.number(digits: 2), scanner.skip("-"),
            let day = scanner.number(digits: 2)
        else { return nil }
        var seconds = Double(days(fromYear: year, month: month, day: day)) * 86_400
        if scanner.isAtEnd { return Date(timeIntervalSince1970: seconds) }
        guard scanner.skip(" ") || scanner.skip("T"),
            let hour = scanner.number(digits: 2), scanner.skip(":"),
            let minute = scanner.number(digits: 2), scanner.skip(":"),
            let second = scanner.number(digits: 2)
        else { return nil }
        seconds += Double(hour * 3600 + minute * 60 + second)
        if scanner.skip(".") {
            let (fraction, count) = scanner.digits()
            guard count > 0 else { return nil }
            seconds += Double(fraction) / pow(10, Double(count))
        }
        if scanner.isAtEnd { return Date(timeIntervalSince1970: seconds) }
        let sign: Double
        if scanner.skip("+") {
            sign = 1
        } else if scanner.skip("-") {
            sign = -1
        } else if scanner.skip("Z") {
            return scanner.isAtEnd ? Date(timeIntervalSince1970: seconds) : nil
        } else {
            return nil
        }
        guard let offsetHours = scanner.number(digits: 2) else { return nil }
        var offset = offsetHours * 3600
        if scanner.skip(":") {
            guard let offsetMinutes = scanner.number(digits: 2) else { return nil }
            offset += offsetMinutes * 60
        }
        guard scanner.isAtEnd else { return nil }
        return Date(timeIntervalSince1970: seconds - sign * Double(offset))
    }

    static func days(fromYear year: Int, month: Int, day: Int) -> Int {
        CalendarDay.days(fromYear: year, month: month, day: day)
    }

    static func civilDate(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        CalendarDay.civilDate(fromDays: days)
    }
}

/// Reads fixed-width decimal fields out of UTF-8 text without allocating.
private struct DigitScanner {
    let bytes: String.UTF8View
    var index: String.UTF8View.Index

    init(_ bytes: String.UTF8View) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    var isAtEnd: Bool { index == bytes.endIndex }

    mutating func skip(_ character: Unicode.Scalar) -> Bool {
        guard index < bytes.endIndex, bytes[index] == UInt8(character.value) else { return false }
        bytes.formIndex(after: &index)
        return true
    }

    mutating func number(digits count: Int) -> Int? {
        var value = 0
        for _ in 0..<count {
            guard index < bytes.endIndex, (48...57).contains(bytes[index]) else { return nil }
            value = value * 10 + Int(bytes[index] - 48)
            bytes.formIndex(after: &index)
        }
        return value
    }

    mutating func digits() -> (value: Int, count: Int) {
        var value = 0
        var count = 0
        while index < bytes.endIndex, (48...57).contains(bytes[index]), count < 18 {
            value = value * 10 + Int(bytes[index] - 48)
            count += 1
            bytes.formIndex(after: &index)
        }
        return (value, count)
    }
}

/// PostgreSQL's hex format for `bytea` (`\x0a1b`).
enum PostgresByteaFormat {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func encode(_ data: Data) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        bytes.reserveCapacity(2 + data.count * 2)
        for byte in data {
            bytes.append(hexDigits[Int(byte >> 4)])
            bytes.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func decode(_ text: String) -> Data? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else {
            return nil
        }
        var data = Data(capacity: (utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            data.append(high << 4 | low)
            index += 2
        }
        return data
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 97...102: byte - 87
        case 65...70: byte - 55
        default: nil
        }
    }
}
