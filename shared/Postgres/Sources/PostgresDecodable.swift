import Foundation
import WedSyncModels

/// A Swift type a column value can be decoded into, from PostgreSQL's text output format.
public protocol PostgresDecodable: Sendable {
    /// Decodes a non-NULL value; throws ``PostgresError/Code/decoding`` when `text` is not a valid `Self`.
    static func decode(postgresText text: String) throws(PostgresError) -> Self

    /// The value for SQL `NULL`; by default decoding `NULL` fails (only optionals accept it).
    static func decodeNull() throws(PostgresError) -> Self
}

extension PostgresDecodable {
    public static func decodeNull() throws(PostgresError) -> Self {
        throw PostgresError(.decoding, "NULL cannot be decoded as \(Self.self); decode an Optional")
    }

    static func mismatch(_ text: String) -> PostgresError {
        PostgresError(.decoding, "a column value of \(text.utf8.count) bytes is not a valid \(Self.self)")
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(postgresText text: String) throws(PostgresError) -> Self {
        try Wrapped.decode(postgresText: text)
    }

    public static func decodeNull() throws(PostgresError) -> Self { nil }
}

extension String: PostgresDecodable {
    public static func decode(postgresText text: String) throws(PostgresError) -> String { text }
}

extension Int: PostgresDecodable {
    public static func decode(postgresText text: String) throws(PostgresError) -> Int {
        guard let value = Int(text) else { throw mismatch(text) }
        return value
    }
}

extension Int64: PostgresDecodable {
    public static func decode(postgresText text: String) throws(PostgresError) -> Int64 {
        guard let value = Int64(text) else { throw mismatch(text) }
        return value
    }
}

extension Int32: PostgresDecodable {
    public static func decode(postgresText text: String) throws(PostgresError) -> Int32 {
        guard let value = Int32(text) else { throw mismatch(text) }
        return value
    }
}

extension Int16: PostgresDecodable {
    public static func decode(postgresText text: String) throws(PostgresError) -> Int16 {
        guard let value = Int16(text) else { throw mismatch(text) }
        return value
    }
}

extension Double: PostgresDecodable {
    /// Also decodes `numeric` and `real` columns.
    public static func decode(postgresText text: String) throws(PostgresError) -> Double {
        switch text {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default:
            guard let value = Double(text) else { throw mismatch(text) }
            return value
        }
    }
}

extension Bool: PostgresDecodable {
    public static func decode(postgresText text: String) throws(PostgresError) -> Bool {
        switch text {
        case "t", "true": return true
        case "f", "false": return false
        default: throw mismatch(text)
        }
    }
}

extension UUID: PostgresDecodable {
    public static func decode(postgresText text: String) throws(PostgresError) -> UUID {
        guard let value = UUID(uuidString: text) else { throw mismatch(text) }
        return value
    }
}

extension Date: PostgresDecodable {
    /// Decodes `timestamptz`, `timestamp` (taken as UTC) and `date` (midnight UTC) columns.
    public static func decode(postgresText text: String) throws(PostgresError) -> Date {
        guard let value = PostgresDateFormat.parse(text) else { throw mismatch(text) }
        return value
    }
}

extension Data: PostgresDecodable {
    /// Decodes a `bytea` column (hex format).
    public static func decode(postgresText text: String) throws(PostgresError) -> Data {
        guard let value = PostgresByteaFormat.decode(text) else { throw mismatch(text) }
        return value
    }
}

extension CalendarDay: PostgresDecodable {
    /// Reads a `date` (`YYYY-MM-DD`).
    public static func decode(postgresText text: String) throws(PostgresError) -> CalendarDay {
        guard let day = CalendarDay(text) else {
            throw PostgresError(.decoding, "expected a date as YYYY-MM-DD")
        }
        return day
    }
}
