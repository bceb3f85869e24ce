import CSQLite
import Foundation
import Synchronization

/// An error from SQLite, with its result code and message.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String
    public var description: String { "SQLite error \(code): \(message)" }
}

/// A SQLite file in WAL mode through two connections: one that writes (``transaction(_:)``, ``execute(_:)``) and
/// one that only reads (``read(_:)``), each used by one caller at a time. In WAL mode a reader sees the last
/// commit and never waits for a writer, so queries and the dashboard do not hold up the commits that acknowledge
/// events.
///
/// `synchronous = FULL` makes each commit reach the disk before it returns (durable across power loss);
/// `NORMAL` in WAL mode survives a crash of the process (the test's SIGKILL) but not of the machine.
public final class SQLiteDatabase: @unchecked Sendable {
    private let handle: OpaquePointer
    private let lock = Mutex(())
    private let readHandle: OpaquePointer
    private let readLock = Mutex(())
    public let path: String

    public enum Synchronous: String, Sendable {
        case normal = "NORMAL"
        case full = "FULL"
    }

    public init(path: String, synchronous: Synchronous = .full) throws(SQLiteError) {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &db, flags, nil)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close(db) }
            throw SQLiteError(code: status, message: "\(path): \(message)")
        }
        var reader: OpaquePointer?
        let readStatus = sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil)
        guard readStatus == SQLITE_OK, let reader else {
            if let reader { sqlite3_close(reader) }
            sqlite3_close(db)
            throw SQLiteError(code: readStatus, message: "\(path): cannot open for reading")
        }
        self.handle = db
        self.readHandle = reader
        self.path = path
        try execute("PRAGMA journal_mode = WAL")
        try execute("PRAGMA synchronous = \(synchronous.rawValue)")
        try execute("PRAGMA busy_timeout = 5000")
        try execute("PRAGMA foreign_keys = ON")
        sqlite3_busy_timeout(readHandle, 5000)
    }

    deinit {
        sqlite3_close_v2(handle)
        sqlite3_close_v2(readHandle)
    }

    /// Runs statements without results (DDL, PRAGMAs).
    public func execute(_ sql: String) throws(SQLiteError) {
        try lock.withLock { _ throws(SQLiteError) in try unlockedExecute(sql) }
    }

    private func unlockedExecute(_ sql: String) throws(SQLiteError) {
        var error: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &error)
        guard status == SQLITE_OK else {
            let message = error.map { String(cString: $0) } ?? "failed"
            sqlite3_free(error)
            throw SQLiteError(code: status, message: message)
        }
    }

    /// Runs `body` in one transaction (`BEGIN IMMEDIATE`), committed when it returns, rolled back when it throws.
    public func transaction<Value>(_ body: (Connection) throws -> Value) throws -> Value {
        try lock.withLock { _ in
            try unlockedExecute("BEGIN IMMEDIATE")
            do {
                let value = try body(Connection(handle: handle))
                try unlockedExecute("COMMIT")
                return value
            } catch {
                try? unlockedExecute("ROLLBACK")
                throw error
            }
        }
    }

    /// Runs `body` with the reading connection (a write through it fails: SQLite opened it read-only).
    public func read<Value>(_ body: (Connection) throws -> Value) throws -> Value {
        try readLock.withLock { _ in try body(Connection(handle: readHandle)) }
    }

    /// The connection inside ``transaction(_:)`` or ``read(_:)``.
    public struct Connection {
        let handle: OpaquePointer

        public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
            var statement: OpaquePointer?
            let status = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
            guard status == SQLITE_OK, let statement else {
                throw SQLiteError(code: status, message: String(cString: sqlite3_errmsg(handle)))
            }
            return Statement(handle: statement, database: handle)
        }

        /// Runs `sql` once with `values` bound in order.
        public func run(_ sql: String, _ values: [SQLiteValue] = []) throws(SQLiteError) {
            let statement = try prepare(sql)
            try statement.bind(values)
            while try statement.step() {}
        }

        public var changes: Int { Int(sqlite3_changes(handle)) }
    }
}

/// A value bound to a statement.
public enum SQLiteValue: Sendable {
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case null
}

/// A prepared statement, finalized when released.
public final class Statement {
    let handle: OpaquePointer
    let database: OpaquePointer

    init(handle: OpaquePointer, database: OpaquePointer) {
        self.handle = handle
        self.database = database
    }

    deinit {
        sqlite3_finalize(handle)
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    public func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .integer(let value): status = sqlite3_bind_int64(handle, index, value)
            case .real(let value): status = sqlite3_bind_double(handle, index, value)
            case .text(let value): status = sqlite3_bind_text(handle, index, value, -1, Self.transient)
            case .blob(let bytes):
                status = bytes.withUnsafeBytes {
                    sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), Self.transient)
                }
            case .null: status = sqlite3_bind_null(handle, index)
            }
            guard status == SQLITE_OK else {
                throw SQLiteError(code: status, message: String(cString: sqlite3_errmsg(database)))
            }
        }
    }

    /// Advances; `true` while there is a row.
    public func step() throws(SQLiteError) -> Bool {
        let status = sqlite3_step(handle)
        if status == SQLITE_ROW { return true }
        if status == SQLITE_DONE { return false }
        throw SQLiteError(code: status, message: String(cString: sqlite3_errmsg(database)))
    }

    public func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    public func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    public func text(_ column: Int32) -> String {
        sqlite3_column_text(handle, column).map { String(cString: $0) } ?? ""
    }
    public func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
