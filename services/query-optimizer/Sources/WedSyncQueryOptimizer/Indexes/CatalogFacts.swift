/// What the catalog says about the tables a plan touches, keyed by each table as the plan names it (with its
/// schema when the plan gives it; a name alone means the one the search path finds).
public struct CatalogFacts: Sendable, Equatable {
    public struct Index: Sendable, Equatable {
        public var name: String
        /// The key columns in order; an expression key is `(expression)`.
        public var columns: [String]
        public var isPartial: Bool
        /// The `INCLUDE` columns.
        public var included: [String]

        public init(name: String, columns: [String], isPartial: Bool = false, included: [String] = []) {
            self.name = name
            self.columns = columns
            self.isPartial = isPartial
            self.included = included
        }
    }

    /// Estimated rows per table (`pg_class.reltuples`).
    public var rows: [RelationName: Double] = [:]
    /// Columns of each table that are foreign keys (single-column constraints).
    public var foreignKeys: [RelationName: Set<String>] = [:]
    /// Each table's indexes and their key columns in order.
    public var indexes: [RelationName: [Index]] = [:]
    /// The share of each table's pages the visibility map marks all-visible (`relallvisible / relpages`): what an
    /// index-only scan can answer without visiting the table.
    public var allVisibleShare: [RelationName: Double] = [:]

    public init(
        rows: [RelationName: Double] = [:],
        foreignKeys: [RelationName: Set<String>] = [:],
        indexes: [RelationName: [Index]] = [:],
        allVisibleShare: [RelationName: Double] = [:]
    ) {
        self.rows = rows
        self.foreignKeys = foreignKeys
        self.indexes = indexes
        self.allVisibleShare = allVisibleShare
    }

    /// Whether an existing index already leads with `columns` (the same leading columns, in order).
    public func covers(_ table: RelationName, _ columns: [String]) -> Bool {
        (indexes[table] ?? []).contains {
            !$0.isPartial && $0.columns.count >= columns.count && Array($0.columns.prefix(columns.count)) == columns
        }
    }
}
