/// Every failure of the PostgreSQL client.
///
/// `description` is safe to log and to show: it holds the code and the server's primary message (which names
/// constraints and columns, not values). The server's DETAIL (which may quote row values) is only in
/// ``debugDescription``.
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
    public var message: String
    /// The SQLSTATE of a server error (`23505` unique violation, `57014` query cancelled...).
    public var sqlState: String?
    /// The server's DETAIL and HINT, which may quote data: kept out of `description`.
    public var detail: String?

    public init(_ code: Code, _ message: String, sqlState: String? = nil, detail: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
    }

    public var description: String {
        if let sqlState { return "PostgreSQL \(code) [\(sqlState)]: \(message)" }
        return "PostgreSQL \(code): \(message)"
    }

    public var debugDescription: String {
        guard let detail else { return description }
        return "\(description) (\(detail))"
    }

    /// Whether the failure was of the connection rather than of the statement, so the pool should drop it.
    public var isConnectionFailure: Bool { code == .connectionFailed || code == .connectionLost }
}
