import Foundation

extension IndexAdvisor {
    /// An index to try: key columns in order, each with an operator class where it needs one
    /// (`text_pattern_ops`, for `LIKE 'prefix%'` under a collation other than C), `INCLUDE` columns, and a
    /// partial index's predicate.
    public struct Candidate: Sendable, Hashable {
        public var table: RelationName
        public var columns: [String]
        public var predicate: String?
        /// Columns stored in the index beside the key, so an index-only scan can answer.
        public var include: [String]
        /// Key column → operator class, for the columns that take one other than the default.
        public var operatorClasses: [String: String]
        /// A name given instead of the one made from the table and columns (``name``): one already taken.
        public var indexName: String?

        public init(
            table: RelationName,
            columns: [String],
            predicate: String? = nil,
            include: [String] = [],
            operatorClasses: [String: String] = [:]
        ) {
            self.table = table
            self.columns = columns
            self.predicate = predicate
            self.include = include
            self.operatorClasses = operatorClasses
        }

        /// `idx_sales_status_ship_date_incl_sale_id`: the table and columns, at most 63 bytes as PostgreSQL keeps.
        public var name: String {
            if let indexName { return indexName }
            var words = ["idx", table.name] + columns
            if !operatorClasses.isEmpty { words.append("pattern") }
            if !include.isEmpty { words += ["incl"] + include }
            if predicate != nil { words.append("partial") }
            var name = words.joined(separator: "_")
            while name.utf8.count > 63 { name.removeLast() }
            return name
        }

        /// `CREATE [UNIQUE] INDEX [CONCURRENTLY] name ON schema.table (columns) [INCLUDE (...)] [WHERE predicate]`:
        /// the index goes in the table's schema, so its name takes none.
        public func statement(concurrently: Bool, unique: Bool = false) -> String {
            let keys = columns.map { column in
                Self.quoted(column) + (operatorClasses[column].map { " " + $0 } ?? "")
            }
            return
                "CREATE \(unique ? "UNIQUE " : "")INDEX \(concurrently ? "CONCURRENTLY " : "")\(Self.quoted(name)) ON \(table.sql) ("
                + keys.joined(separator: ", ") + ")"
                + (include.isEmpty ? "" : " INCLUDE (\(include.map(Self.quoted).joined(separator: ", ")))")
                + (predicate.map { " WHERE \($0)" } ?? "")
        }

        /// An identifier as SQL takes it: bare when it is plain lower case and no keyword, else in double quotes
        /// (as PostgreSQL's `quote_ident`).
        static func quoted(_ name: String) -> String {
            let plain =
                name.first.map { $0.isLowercase || $0 == "_" } == true
                && name.allSatisfy { ($0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "_" }
                && !keywords.contains(name)
            return plain ? name : "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }

        /// PostgreSQL's keywords that are not unreserved (reserved, or reserved but for function and type names,
        /// or never a function or type name): a column so named must be quoted.
        static let keywords: Set<String> = [
            "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization", "between",
            "bigint", "binary", "bit", "boolean", "both", "case", "cast", "char", "character", "check", "coalesce",
            "collate", "collation", "column", "concurrently", "constraint", "create", "cross", "current_catalog",
            "current_date", "current_role", "current_schema", "current_time", "current_timestamp", "current_user",
            "dec", "decimal", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "exists",
            "extract", "false", "fetch", "float", "for", "foreign", "freeze", "from", "full", "grant", "greatest",
            "group", "grouping", "having", "ilike", "in", "initially", "inner", "inout", "int", "integer",
            "intersect", "interval", "into", "is", "isnull", "join", "lateral", "leading", "least", "left", "like",
            "limit", "localtime", "localtimestamp", "national", "natural", "nchar", "none", "normalize", "not",
            "notnull", "null", "nullif", "numeric", "offset", "on", "only", "or", "order", "out", "outer", "overlaps",
            "overlay", "placing", "position", "precision", "primary", "real", "references", "returning", "right",
            "row", "select", "session_user", "setof", "similar", "smallint", "some", "substring", "symmetric",
            "table", "tablesample", "then", "time", "timestamp", "to", "trailing", "treat", "trim", "true", "union",
            "unique", "user", "using", "values", "varchar", "variadic", "verbose", "when", "where", "window", "with",
        ]
    }
}
