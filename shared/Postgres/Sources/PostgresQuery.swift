/// A SQL statement and its parameters, kept apart.
///
/// Build one with string interpolation: every interpolated value becomes a `$n` parameter, never SQL text.
/// ```swift
/// let query: PostgresQuery = "SELECT id FROM clients WHERE organization_id = \(orgID) AND wedding_date >= \(from)"
/// // sql: "SELECT id FROM clients WHERE organization_id = $1 AND wedding_date >= $2", two binds
/// ```
/// Identifiers that cannot be parameters (a table chosen from a fixed list) go in with `\(unescaped:)`.
public struct PostgresQuery: Sendable, Hashable, ExpressibleByStringInterpolation {
    /// The statement text with `$1`, `$2`... placeholders.
    public var sql: String
    /// The parameters in text format, `nil` for `NULL`.
    public var binds: [String?]

    /// A statement whose text already holds `$n` placeholders, with its parameters.
    public init(sql: String, binds: [any PostgresBindable] = []) {
        self.sql = sql
        self.binds = binds.map(\.postgresText)
    }

    /// A statement from already-encoded parameters (text format).
    public init(sql: String, encodedBinds: [String?]) {
        self.sql = sql
        self.binds = encodedBinds
    }

    public init(stringLiteral value: String) {
        self.sql = value
        self.binds = []
    }

    public init(stringInterpolation: StringInterpolation) {
        self.sql = stringInterpolation.sql
        self.binds = stringInterpolation.binds
    }

    /// Builds a ``PostgresQuery`` from literal SQL and bound values.
    public struct StringInterpolation: StringInterpolationProtocol {
        var sql: String
        var binds: [String?]

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds = []
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// Binds `value` as the next parameter.
        public mutating func appendInterpolation(_ value: some PostgresBindable) {
            binds.append(value.postgresText)
            sql += "$\(binds.count)"
        }

        /// Binds `value` as the next parameter, `NULL` when it is `nil`.
        public mutating func appendInterpolation<Value: PostgresBindable>(_ value: Value?) {
            binds.append(value?.postgresText ?? nil)
            sql += "$\(binds.count)"
        }

        /// Splices `text` into the statement as SQL. Only for identifiers and keywords from a fixed list, never for
        /// anything a user sent.
        public mutating func appendInterpolation(unescaped text: String) {
            sql += text
        }
    }
}
