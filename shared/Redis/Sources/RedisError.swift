/// Every failure of the Redis client. `description` never holds keys, values or credentials: for an error reply it
/// names only the reply's kind (`WRONGTYPE`, `NOSCRIPT`, `ERR`), since Redis quotes a command's arguments in the
/// rest (`ERR unknown command 'X', with args beginning with: ...`), which is in ``serverMessage``.
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kinds of failure. A growable set: switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let value: String
        private init(_ value: String) { self.value = value }

        /// The server could not be reached, or refused the credentials.
        public static let connectionFailed = Code("connection_failed")
        /// The connection dropped or timed out while in use.
        public static let connectionLost = Code("connection_lost")
        /// The server answered the command with an error (`WRONGTYPE`, `NOSCRIPT`...).
        public static let server = Code("server_error")
        /// No connection became free in time.
        public static let poolTimeout = Code("pool_timeout")
        /// The client has been shut down.
        public static let shutdown = Code("shutdown")
        /// The URL or options are not valid.
        public static let invalidConfiguration = Code("invalid_configuration")
        /// A reply did not have the shape the command promises.
        public static let unexpectedReply = Code("unexpected_reply")

        public var description: String { value }
    }

    public var code: Code
    /// A message free of data: safe to log.
    public var message: String
    /// The server's whole error reply, which may quote arguments.
    public var serverMessage: String?

    public init(_ code: Code, _ message: String, serverMessage: String? = nil) {
        self.code = code
        self.message = message
        self.serverMessage = serverMessage
    }

    /// An error reply: its kind (the reply's first word) in the message, the rest kept aside.
    public static func reply(_ text: String) -> RedisError {
        let kind = text.prefix { !$0.isWhitespace }
        return RedisError(.server, "\(kind.isEmpty ? "ERR" : kind) reply", serverMessage: text)
    }

    /// The kind of an error reply (`NOSCRIPT`, `WRONGTYPE`, `MOVED`...), `nil` for other failures.
    public var replyKind: String? {
        guard code == .server, let serverMessage else { return nil }
        return String(serverMessage.prefix { !$0.isWhitespace })
    }

    public var description: String { "Redis \(code): \(message)" }

    /// Whether the failure was of the connection rather than of the command, so the pool should drop it.
    public var isConnectionFailure: Bool { code == .connectionFailed || code == .connectionLost }
}
