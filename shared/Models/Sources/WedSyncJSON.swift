import Foundation

/// The one JSON configuration every WedSync service uses on the wire.
///
/// Field names are the Swift property names (camelCase, never converted), and dates are ISO-8601 strings in UTC
/// with millisecond precision. Decoding also accepts ISO-8601 dates without fractional seconds, so hand-written
/// requests (`2026-06-13T14:00:00Z`) are valid. Build encoders and decoders here rather than configuring your own,
/// so that every service speaks exactly the same dialect.
public enum WedSyncJSON {
    /// A new encoder with the WedSync conventions (sorted keys, so output is stable and diffable).
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(ISO8601.format(date))
        }
        return encoder
    }

    /// A new decoder with the WedSync conventions.
    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = ISO8601.parse(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "expected an ISO-8601 date such as 2026-06-13T14:00:00Z, got \"\(text)\""
                )
            }
            return date
        }
        return decoder
    }
}

/// ISO-8601 formatting and parsing as WedSync uses it: written in UTC (`Z`, milliseconds), read with an offset too.
public enum ISO8601 {
    private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)

    /// Formats a date as `2026-06-13T14:00:00.000Z`.
    public static func format(_ date: Date) -> String {
        date.formatted(withFraction)
    }

    /// Parses an RFC 3339 date-time, `2026-06-13T14:00:00Z`, with fractional seconds (`.123`) or an offset
    /// (`+02:00`) as well; `nil` when the text is not such a date. Read by hand, for any year from 0000 to 9999 (the
    /// metrics service parses hundreds of thousands a second).
    public static func parse(_ text: String) -> Date? {
        parseRFC3339(text.utf8)
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`: a fraction of 1 to 9 digits (nanoseconds at most).
    static func parseRFC3339(_ bytes: String.UTF8View) -> Date? {
        var iterator = bytes.makeIterator()
        func digits(_ count: Int) -> Int? {
            var value = 0
            for _ in 0..<count {
                guard let byte = iterator.next(), byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        func expect(_ character: Character) -> Bool { iterator.next() == character.asciiValue }
        guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2), expect("T"),
            let hour = digits(2), expect(":"), let minute = digits(2), expect(":"), let second = digits(2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var fraction = 0.0
        var next = iterator.next()
        if next == UInt8(ascii: ".") {
            var scale = 0.1
            var count = 0
            next = iterator.next()
            while let byte = next, byte >= 48, byte <= 57 {
                fraction += Double(byte - 48) * scale
                scale /= 10
                count += 1
                next = iterator.next()
            }
            guard (1...9).contains(count) else { return nil }
        }
        var offset = 0
        if next == UInt8(ascii: "+") || next == UInt8(ascii: "-") {
            let sign = next == UInt8(ascii: "+") ? 1 : -1
            guard let hours = digits(2), expect(":"), let minutes = digits(2), hours < 24, minutes < 60 else {
                return nil
            }
            offset = sign * (hours * 3_600 + minutes * 60)
        } else if next != UInt8(ascii: "Z") {
            return nil
        }
        guard iterator.next() == nil else { return nil }
        guard let days = CalendarDay(year: year, month: month, day: day)?.daysSinceEpoch else { return nil }
        return Date(
            timeIntervalSince1970: Double(days * 86_400 + hour * 3_600 + minute * 60 + second - offset) + fraction
        )
    }
}
