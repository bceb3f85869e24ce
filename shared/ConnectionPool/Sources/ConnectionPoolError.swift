/// Why a ``ConnectionPool`` could not lend a connection. Failures to connect are not wrapped: the factory's own
/// error reaches the borrower unchanged.
public struct ConnectionPoolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The fixed set of pool failures.
    public enum Code: String, Sendable, Equatable {
        /// Every connection stayed busy for the whole acquire timeout.
        case acquireTimeout = "acquire_timeout"
        /// The pool has been shut down.
        case shutdown
    }

    public var code: Code
    /// The pool's name (`postgres-primary`, `redis`), for the message.
    public var pool: String
    public var message: String

    public init(code: Code, pool: String, message: String) {
        self.code = code
        self.pool = pool
        self.message = message
    }

    public var description: String { "\(pool): \(message)" }
}
