import CLibPQ
import Foundation
import NIOPosix
import Synchronization
import WedSyncConnectionPool

/// One libpq connection.
///
/// Every libpq call blocks, so each runs on the pool's `NIOThreadPool`, never on an event loop or the Swift
/// concurrency pool. Statements are prepared once per connection (the first time a SQL text is seen) and executed
/// by name afterwards; the text format carries parameters and results.
///
/// A connection is used by one borrower at a time (the pool sees to that); the `Mutex` around the handle makes
/// that safe to state to the compiler rather than a promise.
public final class PostgresConnection: PoolableConnection {
    private let handle: Mutex<Handle>
    private let threadPool: NIOThreadPool
    /// libpq's cancel object: usable from any thread while the handle is busy, so it lives apart from it.
    private let canceller: Canceller

    private init(handle: Handle, threadPool: NIOThreadPool) {
        self.canceller = Canceller(handle.connection.flatMap { PQgetCancel($0) })
        self.handle = Mutex(handle)
        self.threadPool = threadPool
    }

    /// Opens a connection on `threadPool`.
    ///
    /// Every method below throws ``PostgresError``, or `CancellationError` when the calling task was cancelled
    /// before the work started.
    static func connect(
        configuration: PostgresConfiguration,
        threadPool: NIOThreadPool,
        preparedStatementLimit: Int
    ) async throws -> PostgresConnection {
        let parameters = configuration.connectionParameters
        // Through PgBouncer in transaction mode the next statement may meet another server connection, where a
        // statement prepared by name does not exist: every statement goes unnamed.
        let limit = configuration.pgbouncer ? 0 : preparedStatementLimit
        let handle = try await run(on: threadPool) { () throws(PostgresError) -> Handle in
            try Handle.connect(parameters: parameters, preparedStatementLimit: limit)
        }
        let connection = PostgresConnection(handle: handle, threadPool: threadPool)
        if let settings = configuration.sessionSettings {
            do {
                try await connection.simpleQuery(settings)
            } catch {
                connection.close()
                throw error
            }
        }
        return connection
    }

    // MARK: Statements

    /// Runs a statement and returns all of its rows.
    ///
    /// - Parameter prepared: prepare the SQL text once on this connection and execute it by name (the default);
    ///   `false` sends it unnamed, for one-off statements (`DECLARE`, DDL, ad hoc `EXPLAIN`).
    ///
    /// Cancelling the calling task cancels the statement on the server too (the statement then fails with
    /// SQLSTATE `57014`), so a request whose client went away does not leave its query running.
    public func query(_ query: PostgresQuery, prepared: Bool = true) async throws -> PostgresRows {
        try await withTaskCancellationHandler {
            try await Self.run(on: threadPool) { () throws(PostgresError) -> PostgresRows in
                try self.handle.withLock { handle throws(PostgresError) -> PostgresRows in
                    try handle.execute(query, prepared: prepared)
                }
            }
        } onCancel: {
            canceller.cancel()
        }
    }

    /// Asks the server to cancel the statement running on this connection, if any. Safe from any thread.
    public func cancelRunningStatement() {
        canceller.cancel()
    }

    /// Runs `COPY table (columns) FROM STDIN` and feeds it the bytes `produce` writes (text or CSV format, as the
    /// statement says), returning the number of rows loaded. Should `produce` throw, the copy is aborted, nothing of
    /// it is kept, and the error is rethrown.
    ///
    /// ```swift
    /// try await connection.copyIn("COPY guests (id, name) FROM STDIN") { writer in
    ///     try await writer.write(Array("1\tAda\n2\tGrace\n".utf8))
    /// }
    /// ```
    @discardableResult
    public func copyIn(_ sql: String, _ produce: (PostgresCopyWriter) async throws -> Void) async throws -> Int {
        try await Self.run(on: threadPool) { () throws(PostgresError) in
            try self.handle.withLock { handle throws(PostgresError) in try handle.beginCopyIn(sql) }
        }
        let writer = PostgresCopyWriter { bytes in
            try await Self.run(on: self.threadPool) { () throws(PostgresError) in
                try self.handle.withLock { handle throws(PostgresError) in try handle.putCopyData(bytes) }
            }
        }
        do {
            try await produce(writer)
        } catch {
            _ = try? await Self.run(on: threadPool) { () throws(PostgresError) -> Int in
                try self.handle.withLock { handle throws(PostgresError) -> Int in
                    try handle.endCopy(abort: "aborted by the client")
                }
            }
            throw error
        }
        return try await Self.run(on: threadPool) { () throws(PostgresError) -> Int in
            try self.handle.withLock { handle throws(PostgresError) -> Int in try handle.endCopy(abort: nil) }
        }
    }

    /// Runs a statement and returns the rows it affected.
    @discardableResult
    public func execute(_ query: PostgresQuery, prepared: Bool = true) async throws -> Int {
        try await self.query(query, prepared: prepared).affectedRows
    }

    /// Runs one or more `;`-separated statements without parameters (migrations, `BEGIN`, `SET`).
    public func simpleQuery(_ sql: String) async throws {
        try await Self.run(on: threadPool) { () throws(PostgresError) in
            try self.handle.withLock { handle throws(PostgresError) in try handle.simpleQuery(sql) }
        }
    }

    /// Whether a transaction is open on the connection (or failed and awaiting `ROLLBACK`).
    public var isInTransaction: Bool {
        handle.withLock { handle in
            guard let connection = handle.connection else { return false }
            let status = PQtransactionStatus(connection)
            return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
        }
    }

    /// The server's version number (`150018` for 15.18).
    public var serverVersion: Int {
        handle.withLock { handle in handle.connection.map { Int(PQserverVersion($0)) } ?? 0 }
    }

    // MARK: PoolableConnection

    public var isUsable: Bool {
        handle.withLock { handle in handle.isUsable }
    }

    public func close() {
        handle.withLock { handle in handle.close() }
        canceller.free()
    }

    func ping() async -> Bool {
        do {
            try await simpleQuery("SELECT 1")
            return true
        } catch {
            return false
        }
    }

    /// Runs `body` on the thread pool. Throws ``PostgresError``s, or `CancellationError` when the calling task was
    /// cancelled before a thread picked the work up.
    private static func run<Result: Sendable>(
        on threadPool: NIOThreadPool,
        _ body: @escaping @Sendable () throws(PostgresError) -> Result
    ) async throws -> Result {
        do {
            return try await threadPool.runIfActive { try body() }
        } catch let error as PostgresError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch {
            throw PostgresError(.shutdown, "the client's threads have stopped")
        }
    }
}

// MARK: - libpq handle

extension PostgresConnection {
    /// The libpq connection and its cache of prepared statements; only touched with the mutex held.
    struct Handle {
        var connection: OpaquePointer?
        /// SQL text → statement name, and the order they were prepared in (the oldest is deallocated first).
        var prepared: [String: String] = [:]
        var preparedOrder: [String] = []
        var preparedCount = 0
        /// Statements evicted inside a transaction, deallocated once the connection is idle again.
        var pendingDeallocations: [String] = []
        let preparedStatementLimit: Int

        static func connect(parameters: [(String, String)], preparedStatementLimit: Int) throws(PostgresError) -> Handle
        {
            let keywords = parameters.map { strdup($0.0) } + [nil]
            let values = parameters.map { strdup($0.1) } + [nil]
            defer {
                keywords.forEach { free($0) }
                values.forEach { free($0) }
            }
            let connection = keywords.withUnsafeBufferPointer { keywords in
                values.withUnsafeBufferPointer { values in
                    keywords.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: keywords.count) {
                        keywordPointer in
                        values.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: values.count) {
                            valuePointer in
                            PQconnectdbParams(keywordPointer, valuePointer, 0)
                        }
                    }
                }
            }
            guard let connection else {
                throw PostgresError(.connectionFailed, "libpq could not allocate a connection")
            }
            guard PQstatus(connection) == CONNECTION_OK else {
                let message = Self.errorMessage(connection)
                PQfinish(connection)
                throw PostgresError(.connectionFailed, message)
            }
            PQsetNoticeProcessor(connection, { _, _ in }, nil)
            return Handle(connection: connection, preparedStatementLimit: preparedStatementLimit)
        }

        var isUsable: Bool {
            guard let connection, PQstatus(connection) == CONNECTION_OK else { return false }
            guard PQtransactionStatus(connection) == PQTRANS_IDLE else { return false }
            // An idle connection's socket only turns readable when the server speaks unprompted: a notification,
            // or a goodbye (server shutdown or restart, `pg_terminate_backend`, idle timeout). Read it and keep the
            // connection only if it was a notification.
            var descriptor = pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) > 0 else { return true }
            guard PQconsumeInput(connection) == 1, PQstatus(connection) == CONNECTION_OK else { return false }
            var sawNotification = false
            while let notification = PQnotifies(connection) {
                sawNotification = true
                PQfreemem(notification)
            }
            return sawNotification
        }

        mutating func close() {
            if let connection { PQfinish(connection) }
            connection = nil
            prepared.removeAll()
            preparedOrder.removeAll()
        }

        mutating func simpleQuery(_ sql: String) throws(PostgresError) {
            guard let connection else { throw PostgresError(.connectionLost, "the connection is closed") }
            let result = PQexec(connection, sql)
            defer { PQclear(result) }
            _ = try rows(from: result)
        }

        mutating func beginCopyIn(_ sql: String) throws(PostgresError) {
            guard let connection else { throw PostgresError(.connectionLost, "the connection is closed") }
            let result = PQexec(connection, sql)
            defer { PQclear(result) }
            guard let result, PQresultStatus(result) == PGRES_COPY_IN else {
                _ = try rows(from: result)
                throw PostgresError(.misuse, "the statement is not a COPY ... FROM STDIN")
            }
        }

        func putCopyData(_ bytes: [UInt8]) throws(PostgresError) {
            guard let connection else { throw PostgresError(.connectionLost, "the connection is closed") }
            let status = bytes.withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    PQputCopyData(connection, $0, Int32(buffer.count))
                }
            }
            guard status == 1 else { throw connectionError() }
        }

        /// Ends the copy (or aborts it with `abort` as the reason) and reads its outcome.
        func endCopy(abort reason: String?) throws(PostgresError) -> Int {
            guard let connection else { throw PostgresError(.connectionLost, "the connection is closed") }
            guard PQputCopyEnd(connection, reason) == 1 else { throw connectionError() }
            var loaded = 0
            var failure: PostgresError?
            while let result = PQgetResult(connection) {
                defer { PQclear(result) }
                do {
                    loaded += try rows(from: result).affectedRows
                } catch {
                    failure = failure ?? error
                }
            }
            if let failure { throw failure }
            return loaded
        }

        mutating func execute(_ query: PostgresQuery, prepared usePrepared: Bool) throws(PostgresError) -> PostgresRows
        {
            guard let connection else { throw PostgresError(.connectionLost, "the connection is closed") }
            guard usePrepared, preparedStatementLimit > 0 else {
                return try withParameters(query.binds) { (values) throws(PostgresError) -> PostgresRows in
                    let result = PQexecParams(connection, query.sql, Int32(query.binds.count), nil, values, nil, nil, 0)
                    defer { PQclear(result) }
                    return try rows(from: result)
                }
            }
            do {
                return try executePrepared(query, on: connection)
            } catch let error where error.sqlState == "0A000" && PQtransactionStatus(connection) == PQTRANS_IDLE {
                // "cached plan must not change result type": the schema changed under a prepared statement.
                // Prepare it afresh and try once more; inside a transaction the error has already aborted it.
                forget(query.sql, on: connection)
                return try executePrepared(query, on: connection)
            }
        }

        private mutating func executePrepared(_ query: PostgresQuery, on connection: OpaquePointer)
            throws(PostgresError) -> PostgresRows
        {
            let name = try statementName(for: query.sql, on: connection)
            return try withParameters(query.binds) { (values) throws(PostgresError) -> PostgresRows in
                let result = PQexecPrepared(connection, name, Int32(query.binds.count), values, nil, nil, 0)
                defer { PQclear(result) }
                return try rows(from: result)
            }
        }

        private mutating func statementName(for sql: String, on connection: OpaquePointer) throws(PostgresError)
            -> String
        {
            if let name = prepared[sql] { return name }
            deallocatePending(on: connection)
            preparedCount += 1
            let name = "wedsync_\(preparedCount)"
            let result = PQprepare(connection, name, sql, 0, nil)
            defer { PQclear(result) }
            _ = try rows(from: result)
            prepared[sql] = name
            preparedOrder.append(sql)
            if preparedOrder.count > preparedStatementLimit {
                forget(preparedOrder[0], on: connection)
            }
            return name
        }

        private mutating func forget(_ sql: String, on connection: OpaquePointer) {
            guard let name = prepared.removeValue(forKey: sql) else { return }
            preparedOrder.removeAll { $0 == sql }
            pendingDeallocations.append(name)
            deallocatePending(on: connection)
        }

        /// `DEALLOCATE` outside a transaction only: inside one, a failure would abort the caller's transaction.
        private mutating func deallocatePending(on connection: OpaquePointer) {
            guard !pendingDeallocations.isEmpty, PQtransactionStatus(connection) == PQTRANS_IDLE else { return }
            for name in pendingDeallocations {
                PQclear(PQexec(connection, "DEALLOCATE \(name)"))
            }
            pendingDeallocations.removeAll()
        }

        private func withParameters<Result>(
            _ binds: [String?],
            _ body: (UnsafePointer<UnsafePointer<CChar>?>?) throws(PostgresError) -> Result
        ) throws(PostgresError) -> Result {
            if binds.isEmpty { return try body(nil) }
            let values: [UnsafeMutablePointer<CChar>?] = binds.map { $0.map { strdup($0) } ?? nil }
            defer { values.forEach { free($0) } }
            return try values.withUnsafeBufferPointer { (buffer) throws(PostgresError) -> Result in
                try buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                    (pointer) throws(PostgresError) -> Result in
                    try body(pointer)
                }
            }
        }

        private func rows(from result: OpaquePointer?) throws(PostgresError) -> PostgresRows {
            guard let result else {
                throw connectionError()
            }
            let status = PQresultStatus(result)
            guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK || status == PGRES_EMPTY_QUERY else {
                if let connection, PQstatus(connection) != CONNECTION_OK {
                    throw connectionError()
                }
                throw Self.serverError(result)
            }
            let fieldCount = Int(PQnfields(result))
            let columns = PostgresColumns(
                (0..<fieldCount).map { field in
                    PostgresColumn(
                        name: String(cString: PQfname(result, Int32(field))),
                        typeOID: UInt32(PQftype(result, Int32(field)))
                    )
                }
            )
            let rowCount = Int(PQntuples(result))
            var rows: [PostgresRow] = []
            rows.reserveCapacity(rowCount)
            for row in 0..<Int32(rowCount) {
                var values: [String?] = []
                values.reserveCapacity(fieldCount)
                for field in 0..<Int32(fieldCount) {
                    if PQgetisnull(result, row, field) == 1 {
                        values.append(nil)
                    } else {
                        let length = Int(PQgetlength(result, row, field))
                        let bytes = UnsafeRawPointer(PQgetvalue(result, row, field)!)
                        values.append(
                            String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
                        )
                    }
                }
                rows.append(PostgresRow(columns: columns, values: values))
            }
            let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
            return PostgresRows(columns: columns, rows: rows, affectedRows: affected)
        }

        private func connectionError() -> PostgresError {
            guard let connection else { return PostgresError(.connectionLost, "the connection is closed") }
            return PostgresError(.connectionLost, Self.errorMessage(connection))
        }

        static func serverError(_ result: OpaquePointer) -> PostgresError {
            func field(_ code: Character) -> String? {
                guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
                return String(cString: value)
            }
            let detail = [field("M"), field("D"), field("H").map { "hint: \($0)" }].compactMap { $0 }
            return PostgresError(
                server: field("C"),
                constraint: field("n"),
                table: field("t"),
                column: field("c"),
                serverMessage: detail.joined(separator: "; ")
            )
        }

        static func errorMessage(_ connection: OpaquePointer) -> String {
            guard let message = PQerrorMessage(connection) else { return "unknown libpq error" }
            return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}

extension PostgresConnection {
    /// libpq's `PGcancel` for one connection: `PQcancel` may run on any thread while the connection is busy.
    final class Canceller: @unchecked Sendable {
        private let lock: Mutex<UInt>

        /// The pointer is kept as an address: `OpaquePointer` is not `Sendable`, and only this class touches it.
        init(_ cancel: OpaquePointer?) {
            lock = Mutex(cancel.map { UInt(bitPattern: Int(bitPattern: UnsafeRawPointer($0))) } ?? 0)
        }

        private static func pointer(_ address: UInt) -> OpaquePointer? {
            UnsafeRawPointer(bitPattern: address).map { OpaquePointer($0) }
        }

        func cancel() {
            lock.withLock { address in
                guard let cancel = Self.pointer(address) else { return }
                var buffer = [CChar](repeating: 0, count: 256)
                _ = PQcancel(cancel, &buffer, Int32(buffer.count))
            }
        }

        func free() {
            lock.withLock { address in
                if let cancel = Self.pointer(address) { PQfreeCancel(cancel) }
                address = 0
            }
        }

        deinit {
            free()
        }
    }
}

/// Feeds bytes to a running `COPY ... FROM STDIN`; see ``PostgresConnection/copyIn(_:_:)``.
public struct PostgresCopyWriter: Sendable {
    let send: @Sendable ([UInt8]) async throws -> Void

    /// Sends a chunk of rows in the statement's format. Chunks need not end on a row boundary.
    public func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        try await send(bytes)
    }
}

// A handle is created on a thread-pool thread and handed to its connection once; from then on it is only touched
// with the connection's mutex held.
extension PostgresConnection.Handle: @unchecked Sendable {}
