/// Every failure of the PostgreSQL client.
///
/// `description` is safe to log and to show. For a server error it holds the SQLSTATE, its condition name and the
/// constraint, table and column involved, never the server's own text: PostgreSQL quotes the offending input there
/// (`invalid input syntax for type uuid: "ann@example.com"`). That text is in ``serverMessage`` and
/// ``debugDescription``, for a caller that knows the statement is its own (the query optimizer showing an analyst
/// why their SQL failed).
public struct PostgresError: Error, Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The kinds of failure. A growable set: switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let value: String
        private init(_ value: String) { self.value = value }

        /// The server could not be reached or refused the connection.
        public static let connectionFailed = Code("connection_failed")
        /// The connection dropped while in use (server restart, network).
        public static let connectionLost = Code("connection_lost")
        /// The server answered the statement with an error; see ``PostgresError/sqlState``.
        public static let server = Code("server_error")
        /// A value could not be decoded into the requested Swift type.
        public static let decoding = Code("decoding_failed")
        /// No connection became free in time.
        public static let poolTimeout = Code("pool_timeout")
        /// The client has been shut down.
        public static let shutdown = Code("shutdown")
        /// The URL or options are not valid.
        public static let invalidConfiguration = Code("invalid_configuration")
        /// The client was used in a way it does not support (e.g. a column that is not there).
        public static let misuse = Code("misuse")

        public var description: String { value }
    }

    public var code: Code
    /// A message free of data: safe to log.
    public var message: String
    /// The SQLSTATE of a server error (`23505` unique violation, `57014` query cancelled...).
    public var sqlState: String?
    /// The server's MESSAGE, DETAIL and HINT, which may quote data: never in `description`.
    public var serverMessage: String?

    public init(_ code: Code, _ message: String, sqlState: String? = nil, serverMessage: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.serverMessage = serverMessage
    }

    /// A server error, described by its SQLSTATE and the objects it names.
    init(server sqlState: String?, constraint: String?, table: String?, column: String?, serverMessage: String?) {
        var message = sqlState.flatMap { Self.conditionNames[$0] } ?? "the server rejected the statement"
        if let constraint { message += ", constraint \(constraint)" }
        if let table { message += ", table \(table)" }
        if let column { message += ", column \(column)" }
        self.init(.server, message, sqlState: sqlState, serverMessage: serverMessage)
    }

    public var description: String {
        if let sqlState { return "PostgreSQL \(code) [\(sqlState)]: \(message)" }
        return "PostgreSQL \(code): \(message)"
    }

    public var debugDescription: String {
        guard let serverMessage, !serverMessage.isEmpty else { return description }
        return "\(description) (\(serverMessage))"
    }

    /// PostgreSQL's condition names of the SQLSTATEs a service meets most.
    static let conditionNames: [String: String] = [
        "0A000": "feature_not_supported",
        "22001": "string_data_right_truncation",
        "22003": "numeric_value_out_of_range",
        "22007": "invalid_datetime_format",
        "22008": "datetime_field_overflow",
        "22012": "division_by_zero",
        "22P02": "invalid_text_representation",
        "23502": "not_null_violation",
        "23503": "foreign_key_violation",
        "23505": "unique_violation",
        "23514": "check_violation",
        "25P02": "in_failed_sql_transaction",
        "40001": "serialization_failure",
        "40P01": "deadlock_detected",
        "42501": "insufficient_privilege",
        "42601": "syntax_error",
        "42703": "undefined_column",
        "42883": "undefined_function",
        "42P01": "undefined_table",
        "53300": "too_many_connections",
        "55P03": "lock_not_available",
        "57014": "query_canceled",
        "57P01": "admin_shutdown",
        "57P03": "cannot_connect_now",
    ]

    /// Whether the failure was of the connection rather than of the statement, so the pool should drop it.
    public var isConnectionFailure: Bool { code == .connectionFailed || code == .connectionLost }
}
