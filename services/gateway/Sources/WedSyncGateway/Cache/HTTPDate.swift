import Foundation
import WedSyncModels

/// HTTP-date (RFC 9110 §5.6.7): the IMF-fixdate a sender must generate, and the obsolete RFC 850 and asctime
/// forms a recipient must accept, each parsed by hand and strictly: anything else (a fixdate with dashes, without
/// its comma, with a one-digit hour or in `UTC`) is not a date, so an `Expires` holding it means "already expired"
/// (RFC 9111 §5.3).
public enum HTTPDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let dayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    private static let shortDayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    /// The date, or `nil` when the text is not an HTTP-date.
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        if let date = parseFixdate(bytes) ?? parseRFC850(bytes) ?? parseAsctime(bytes) { return date }
        let trimmed = Array(text.trimmingCharacters(in: .whitespaces).utf8)
        guard trimmed.count != bytes.count else { return nil }
        return parseFixdate(trimmed) ?? parseRFC850(trimmed) ?? parseAsctime(trimmed)
    }

    /// `number` of the ASCII digits in `range` of `bytes`.
    private static func number(_ bytes: [UInt8], _ range: Range<Int>) -> Int? {
        var value = 0
        for index in range {
            let digit = Int(bytes[index]) - 48
            guard (0...9).contains(digit) else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    /// `hh:mm:ss` at `offset`, in seconds of the day.
    private static func time(_ bytes: [UInt8], at offset: Int) -> Int? {
        guard bytes.count >= offset + 8, bytes[offset + 2] == UInt8(ascii: ":"), bytes[offset + 5] == UInt8(ascii: ":"),
            let hour = number(bytes, offset..<offset + 2), let minute = number(bytes, offset + 3..<offset + 5),
            let second = number(bytes, offset + 6..<offset + 8), hour < 24, minute < 60, second < 61
        else { return nil }
        return hour * 3_600 + minute * 60 + second
    }

    private static func date(year: Int, month: Int, day: Int, seconds: Int) -> Date? {
        guard (1...31).contains(day), let days = CalendarDay(year: year, month: month, day: day)?.daysSinceEpoch
        else { return nil }
        return Date(timeIntervalSince1970: Double(days * 86_400 + seconds))
    }

    /// `Sunday, 06-Nov-94 08:49:37 GMT`; a two-digit year more than 50 years ahead is the century before.
    static func parseRFC850(_ bytes: [UInt8]) -> Date? {
        guard let comma = bytes.firstIndex(of: UInt8(ascii: ",")),
            dayNames.contains(String(decoding: bytes[..<comma], as: UTF8.self)),
            bytes.count == comma + 24, bytes[comma + 1] == 32, bytes[comma + 4] == UInt8(ascii: "-"),
            bytes[comma + 8] == UInt8(ascii: "-"), bytes[comma + 11] == 32, bytes[comma + 20] == 32,
            bytes[(comma + 21)...].elementsEqual("GMT".utf8),
            let day = number(bytes, comma + 2..<comma + 4),
            let month = months.firstIndex(of: String(decoding: bytes[comma + 5..<comma + 8], as: UTF8.self)),
            let twoDigits = number(bytes, comma + 9..<comma + 11), let seconds = time(bytes, at: comma + 12)
        else { return nil }
        let thisYear = CalendarDay.civilDate(fromDays: Int(Date().timeIntervalSince1970) / 86_400).year
        // The year within 50 of this one (RFC 9110 §5.6.7), whichever century that is.
        var year = thisYear - thisYear % 100 + twoDigits
        if year > thisYear + 50 {
            year -= 100
        } else if year + 100 <= thisYear + 50 {
            year += 100
        }
        return date(year: year, month: month + 1, day: day, seconds: seconds)
    }

    /// `Sun Nov  6 08:49:37 1994`.
    static func parseAsctime(_ bytes: [UInt8]) -> Date? {
        guard bytes.count == 24, shortDayNames.contains(String(decoding: bytes[0..<3], as: UTF8.self)), bytes[3] == 32,
            bytes[7] == 32, bytes[10] == 32, bytes[19] == 32,
            let month = months.firstIndex(of: String(decoding: bytes[4..<7], as: UTF8.self)),
            let day = bytes[8] == 32 ? number(bytes, 9..<10) : number(bytes, 8..<10),
            let seconds = time(bytes, at: 11), let year = number(bytes, 20..<24)
        else { return nil }
        return date(year: year, month: month + 1, day: day, seconds: seconds)
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func parseFixdate(_ bytes: [UInt8]) -> Date? {
        guard bytes.count == 29, bytes[3] == UInt8(ascii: ","), bytes[4] == 32, bytes[7] == 32, bytes[11] == 32,
            bytes[16] == 32,
            bytes[19] == UInt8(ascii: ":"), bytes[22] == UInt8(ascii: ":"), bytes[25] == 32,
            bytes[26...28].elementsEqual("GMT".utf8)
        else { return nil }
        let monthText = String(decoding: bytes[8..<11], as: UTF8.self)
        guard shortDayNames.contains(String(decoding: bytes[0..<3], as: UTF8.self)),
            let day = number(bytes, 5..<7), let month = months.firstIndex(of: monthText),
            let year = number(bytes, 12..<16), let seconds = time(bytes, at: 17)
        else { return nil }
        return date(year: year, month: month + 1, day: day, seconds: seconds)
    }

    /// The IMF-fixdate of `date`.
    public static func format(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        let (year, month, day) = CalendarDay.civilDate(fromDays: days)
        let weekday = ((days % 7) + 7) % 7
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(Self.days[weekday]), \(two(day)) \(months[month - 1]) \(year) \(two(rest / 3_600)):\(two(rest % 3_600 / 60)):\(two(rest % 60)) GMT"
    }
}
