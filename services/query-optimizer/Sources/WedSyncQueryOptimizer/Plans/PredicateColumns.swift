/// The columns a plan's conditions compare, read from PostgreSQL's deparsed expressions:
/// `((organization_id = $1) AND (wedding_date >= $2))`, `(g.client_id = c.id)`, `((status)::text = 'active'::text)`.
public struct PredicateColumns: Sendable, Equatable {
    /// A comparison of a column: `=`, a range operator, or `LIKE`.
    public struct Comparison: Sendable, Hashable {
        /// The alias or table before the dot, when there is one.
        public var qualifier: String?
        public var column: String
        public var op: String
        /// The other side when it is a literal constant (`'active'::text`, `3`), for partial indexes.
        public var constant: String?
        /// The other side when it is a column (`c.id`): a join.
        public var otherQualifier: String?
        public var otherColumn: String?
    }

    public static let rangeOperators: Set<String> = [">", "<", ">=", "<="]

    /// Every comparison in `expression` whose left side is a column.
    public static func comparisons(in expression: String) -> [Comparison] {
        let tokens = SQLLexer.tokens(expression)
        var result: [Comparison] = []
        var index = 0
        while index < tokens.count {
            // A type after `::` or a function's name is not a column.
            guard case .identifier(let first) = tokens[index], index == 0 || tokens[index - 1] != .symbol("::"),
                index + 1 >= tokens.count || tokens[index + 1] != .symbol("(")
            else {
                index += 1
                continue
            }
            // qualifier.column, then optional ")", casts, then the operator.
            var cursor = index + 1
            var qualifier: String?
            var column = first
            if cursor + 1 < tokens.count, tokens[cursor] == .symbol("."),
                case .identifier(let second) = tokens[cursor + 1]
            {
                qualifier = first
                column = second
                cursor += 2
            }
            while cursor < tokens.count, tokens[cursor] == .symbol(")") { cursor += 1 }
            while cursor + 1 < tokens.count, tokens[cursor] == .symbol("::"), case .identifier = tokens[cursor + 1] {
                cursor += 2
                // Types of several words: `character varying`, `timestamp with time zone`.
                while cursor < tokens.count, case .identifier(let word) = tokens[cursor],
                    !["and", "or", "not", "is", "in"].contains(word.lowercased())
                {
                    cursor += 1
                }
            }
            guard cursor < tokens.count, case .symbol(let op) = tokens[cursor],
                comparisonOperators.contains(op) || op == "~~"
            else {
                index += 1
                continue
            }
            guard !keywords.contains(column.lowercased()) else {
                index = cursor + 1
                continue
            }
            var comparison = Comparison(qualifier: qualifier, column: column, op: op == "~~" ? "LIKE" : op)
            var right = cursor + 1
            while right < tokens.count, tokens[right] == .symbol("(") { right += 1 }
            if right < tokens.count {
                switch tokens[right] {
                case .literal(let text): comparison.constant = text
                case .number(let text): comparison.constant = text
                case .identifier(let name):
                    if right + 2 < tokens.count, tokens[right + 1] == .symbol("."),
                        case .identifier(let other) = tokens[right + 2]
                    {
                        comparison.otherQualifier = name
                        comparison.otherColumn = other
                    } else if !keywords.contains(name.lowercased()) {
                        comparison.otherColumn = name
                    }
                default: break
                }
            }
            result.append(comparison)
            index = cursor + 1
        }
        return result
    }

    /// Every column `expression` refers to, with its qualifier when it has one: not a function's name, a type
    /// after `::`, or a keyword. `(c.budget * 2)` and `lower((c.name)::text)` refer to `c.budget` and `c.name`.
    public static func columnReferences(in expression: String) -> [(qualifier: String?, column: String)] {
        let tokens = SQLLexer.tokens(expression)
        var result: [(qualifier: String?, column: String)] = []
        var index = 0
        while index < tokens.count {
            if tokens[index] == .symbol("::") {
                index += 1
                while index < tokens.count, case .identifier(let word) = tokens[index],
                    !["and", "or", "not", "is", "in"].contains(word.lowercased())
                {
                    index += 1
                }
                continue
            }
            guard case .identifier(let first) = tokens[index] else {
                index += 1
                continue
            }
            if index + 2 < tokens.count, tokens[index + 1] == .symbol("."),
                case .identifier(let second) = tokens[index + 2]
            {
                if index + 3 >= tokens.count || tokens[index + 3] != .symbol("(") { result.append((first, second)) }
                index += 3
                continue
            }
            let isCall = index + 1 < tokens.count && tokens[index + 1] == .symbol("(")
            if !isCall, !keywords.contains(first.lowercased()) { result.append((nil, first)) }
            index += 1
        }
        return result
    }

    static let comparisonOperators: Set<String> = ["=", ">", "<", ">=", "<=", "<>"]
    static let keywords: Set<String> = [
        "and", "or", "not", "null", "true", "false", "any", "all", "is", "in", "array", "with", "time", "zone",
        "without",
    ]

}
