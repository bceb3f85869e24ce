import Foundation
import WedSyncModels

/// A Swift value that can be bound to a statement parameter (`$1`), sent in PostgreSQL's text format.
///
/// Values are never spliced into SQL text: they travel beside the statement, so they cannot change its meaning.
public protocol PostgresBindable: Sendable {
    /// The parameter in PostgreSQL's text input format; `nil` binds SQL `NULL`.
    var postgresText: String? { get }
}

extension String: PostgresBindable {
    public var postgresText: String? { self }
}

extension Substring: PostgresBindable {
    public var postgresText: String? { String(self) }
}

extension Int: PostgresBindable {
    public var postgresText: String? { String(self) }
}

extension Int64: PostgresBindable {
    public var postgresText: String? { String(self) }
}

extension Int32: PostgresBindable {
    public var postgresText: String? { String(self) }
}

extension Int16: PostgresBindable {
    public var postgresText: String? { String(self) }
}

extension Double: PostgresBindable {
    public var postgresText: String? {
        if isNaN { return "NaN" }
        if isInfinite { return self > 0 ? "Infinity" : "-Infinity" }
        return String(self)
    }
}

extension Bool: PostgresBindable {
    public var postgresText: String? { self ? "t" : "f" }
}

extension UUID: PostgresBindable {
    public var postgresText: String? { uuidString.lowercased() }
}

extension Date: PostgresBindable {
    /// A `timestamptz` in UTC with microsecond precision.
    public var postgresText: String? { PostgresDateFormat.format(self) }
}

extension Data: PostgresBindable {
    /// A `bytea` in hex format (`\x0a1b`).
    public var postgresText: String? { PostgresByteaFormat.encode(self) }
}

extension Optional: PostgresBindable where Wrapped: PostgresBindable {
    public var postgresText: String? { self?.postgresText }
}

extension Array: PostgresBindable where Element: PostgresBindable {
    /// A one-dimensional array literal (`{1,2,3}`, `{"a","b"}`), for `= ANY($1)` and `unnest($1)`.
    public var postgresText: String? {
        var text = "{"
        for (index, element) in enumerated() {
            if index > 0 { text += "," }
            guard let item = element.postgresText else {
                text += "NULL"
                continue
            }
            text += "\""
            for character in item.unicodeScalars {
                if character == "\"" || character == "\\" { text += "\\" }
                text.unicodeScalars.append(character)
            }
            text += "\""
        }
        return text + "}"
    }
}

extension CalendarDay: PostgresBindable {
    /// `YYYY-MM-DD`, as `date` reads it.
    public var postgresText: String? { description }
}
