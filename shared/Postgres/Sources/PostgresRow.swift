/// The name and type of one result column.
public struct PostgresColumn: Sendable, Hashable {
    public var name: String
    /// The column's type OID (`23` int4, `25` text, `1184` timestamptz...).
    public var typeOID: UInt32

    public init(name: String, typeOID: UInt32) {
        self.name = name
        self.typeOID = typeOID
    }
}

/// The columns of a result, shared by all of its rows.
public final class PostgresColumns: Sendable {
    public let columns: [PostgresColumn]
    private let indexByName: [String: Int]

    init(_ columns: [PostgresColumn]) {
        self.columns = columns
        var index: [String: Int] = [:]
        for (offset, column) in columns.enumerated() where index[column.name] == nil {
            index[column.name] = offset
        }
        self.indexByName = index
    }

    func index(of name: String) -> Int? { indexByName[name] }
}

/// One row of a result.
///
/// Decode by position into a tuple, or column by column:
/// ```swift
/// let (id, name, date) = try row.decode((Int, String, Date?).self)
/// let count = try row.decode(Int.self, column: "guest_count")
/// ```
public struct PostgresRow: Sendable {
    public let columns: PostgresColumns
    /// The values in PostgreSQL's text format; `nil` is `NULL`.
    public let values: [String?]

    init(columns: PostgresColumns, values: [String?]) {
        self.columns = columns
        self.values = values
    }

    /// Decodes the value at `index`.
    public func decode<Value: PostgresDecodable>(_ type: Value.Type, at index: Int) throws(PostgresError) -> Value {
        guard values.indices.contains(index) else {
            throw PostgresError(.misuse, "the row has \(values.count) columns; there is no column \(index)")
        }
        guard let text = values[index] else { return try Value.decodeNull() }
        do {
            return try Value.decode(postgresText: text)
        } catch {
            throw PostgresError(.decoding, "column \"\(columns.columns[index].name)\": \(error.message)")
        }
    }

    /// Decodes the value of the column named `name`.
    public func decode<Value: PostgresDecodable>(_ type: Value.Type, column name: String) throws(PostgresError) -> Value
    {
        guard let index = columns.index(of: name) else {
            throw PostgresError(.misuse, "the result has no column \"\(name)\"")
        }
        return try decode(type, at: index)
    }

    /// Decodes the row's leading columns, in order, into a tuple.
    public func decode<each Value: PostgresDecodable>(_ types: (repeat each Value).Type) throws -> (repeat each Value) {
        var index = 0
        func next<Column: PostgresDecodable>(_ type: Column.Type) throws -> Column {
            defer { index += 1 }
            return try decode(type, at: index)
        }
        return (repeat try next((each Value).self))
    }
}

/// The rows of a completed statement.
public struct PostgresRows: Sendable, RandomAccessCollection {
    public let columns: PostgresColumns
    public let rows: [PostgresRow]
    /// Rows affected by an `INSERT`, `UPDATE` or `DELETE` (PostgreSQL's command tag); 0 otherwise.
    public let affectedRows: Int

    init(columns: PostgresColumns, rows: [PostgresRow], affectedRows: Int) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }

    public var startIndex: Int { rows.startIndex }
    public var endIndex: Int { rows.endIndex }
    public subscript(position: Int) -> PostgresRow { rows[position] }

    /// Decodes every row into a tuple.
    public func decode<each Value: PostgresDecodable>(_ types: (repeat each Value).Type) throws -> [(repeat each Value)]
    {
        try rows.map { try $0.decode(types) }
    }
}
