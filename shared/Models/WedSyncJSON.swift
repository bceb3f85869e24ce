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

/// ISO-8601 formatting and parsing as WedSync uses it (UTC, `Z`, optional fractional seconds).
public enum ISO8601 {
    private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
    private static let withoutFraction = Date.ISO8601FormatStyle(timeZone: .gmt)

    /// Formats a date as `2026-06-13T14:00:00.000Z`.
    public static func format(_ date: Date) -> String {
        date.formatted(withFraction)
    }

    /// Parses `2026-06-13T14:00:00Z` or `2026-06-13T14:00:00.123Z`; `nil` when the text is not such a date.
    public static func parse(_ text: String) -> Date? {
        if let date = try? withFraction.parse(text) { return date }
        return try? withoutFraction.parse(text)
    }
}
