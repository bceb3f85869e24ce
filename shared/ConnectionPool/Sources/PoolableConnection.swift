/// A connection a ``ConnectionPool`` can lend out.
///
/// Conformers are thin `Sendable` reference types around a client library's handle (a libpq `PGconn`, a NIO
/// channel); the pool guarantees that one connection is leased to one borrower at a time.
public protocol PoolableConnection: AnyObject, Sendable {
    /// A cheap, local check (no round trip) that the connection can still be used: the socket is open and the
    /// server has not said goodbye. Called on every borrow and every return, so it must not block.
    var isUsable: Bool { get }

    /// Closes the connection and frees its resources. Called at most once, by the pool.
    func close()
    /// The event loop the connection's I/O runs on, for connections that have one: a borrower running on that loop
    /// is lent it first, and is answered without crossing threads.
    var eventLoopIdentity: ObjectIdentifier? { get }
}

extension PoolableConnection {
    public var eventLoopIdentity: ObjectIdentifier? { nil }
}

/// Opens connections for a ``ConnectionPool`` and proves they still work.
public protocol ConnectionFactory: Sendable {
    associatedtype Connection: PoolableConnection

    /// Opens a new connection; throws the client library's own error when the server cannot be reached.
    func makeConnection() async throws -> Connection

    /// A round trip that proves the connection works. The pool runs it on borrow when a connection has been idle
    /// for longer than ``ConnectionPoolConfiguration/healthCheckAfterIdle`` (like PgBouncer's `server_check_delay`).
    func ping(_ connection: Connection) async -> Bool
}
