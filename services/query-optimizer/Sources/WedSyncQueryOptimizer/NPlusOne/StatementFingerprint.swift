import Foundation

/// Statement text made safe to show and to group by: string and number constants become `?`, comments go, and
/// runs of whitespace become one space. `$n` parameters stay. What services report is normalised already; this
/// makes sure a constant (a guest's name in a literal) never reaches a report, and that statements differing
/// only in their constants group together.
///
/// It reads the statement with ``SQLLexer``, so a quote inside a comment or a comment marker inside a string is
/// read as what it is.
public enum StatementFingerprint {
    /// `SELECT * FROM guests WHERE name = 'Ann' AND id = 42` → `SELECT * FROM guests WHERE name = ? AND id = ?`.
    public static func normalize(_ sql: String, limit: Int = 1_000) -> String {
        var result = ""
        var length = 0
        var previous: SQLLexer.Token?
        // A statement longer than this many scalars is cut before it is read: the fingerprint is a prefix anyway.
        let input =
            sql.unicodeScalars.count > limit * 16
            ? String(String.UnicodeScalarView(sql.unicodeScalars.prefix(limit * 16))) : sql
        for token in SQLLexer.tokens(input, limit: limit) {
            var text: String
            switch token {
            case .identifier(let name): text = isWord(name) ? name : IndexAdvisor.Candidate.quoted(name)
            case .literal, .number: text = "?"
            case .parameter(let name): text = name
            case .symbol(let symbol): text = symbol
            }
            // No space before `.`, `,`, `)`, `::`, `[`; none after `.`, `(`, `::`, `[`; none before a call's `(`.
            var glued = false
            if case .symbol(let symbol) = token, [".", ",", ")", "::", "["].contains(symbol) { glued = true }
            if case .symbol(let symbol)? = previous, [".", "(", "::", "["].contains(symbol) { glued = true }
            if case .symbol("(") = token, case .identifier(let word)? = previous,
                !Self.keywords.contains(word.lowercased())
            {
                glued = true
            }
            if !result.isEmpty, !glued {
                result.append(" ")
                length += 1
            }
            // A long name is cut to the room left, so no fingerprint outgrows `limit`.
            if text.count > limit - length { text = String(text.prefix(max(0, limit - length))) }
            result += text
            length += text.count
            previous = token
            if length >= limit { break }
        }
        return result
    }

    /// A name as a statement may write it unquoted: letters, digits, underscores and `$` (keywords in capitals included).
    static func isWord(_ name: String) -> Bool {
        guard let first = name.first, first.isLetter || first == "_" else { return false }
        return name.allSatisfy { ($0.isLetter && $0.isASCII) || $0.isNumber || $0 == "_" || $0 == "$" }
    }

    /// Words after which `(` opens a list or a subquery, not a call's arguments.
    static let keywords: Set<String> = [
        "in", "values", "exists", "any", "all", "as", "on", "using", "from", "join", "where", "and", "or", "not",
        "select", "over", "filter",
        "within", "into", "set", "by", "lateral", "with", "when", "then", "else", "case", "is",
    ]

    /// The statement's first keyword, lower case, past comments and opening parentheses: `select`, `with`,
    /// `alter`...; `nil` for an empty statement.
    public static func firstKeyword(_ sql: String) -> String? {
        for token in SQLLexer.tokens(sql, limit: 64) {
            switch token {
            case .identifier(let word): return word.lowercased()
            case .symbol("("): continue
            default: return nil
            }
        }
        return nil
    }

    /// The one statement an N+1's repeated statement should become: its first `column = $n` as
    /// `column = ANY($n)` (the request's values as one array), with a note for what that changes.
    public static func batchedForm(of fingerprint: String) -> String {
        let tokens = fingerprint.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let upper = fingerprint.uppercased()
        if upper.hasPrefix("INSERT") {
            return
                "one INSERT for the whole request: INSERT ... SELECT * FROM unnest($1::type[], $2::type[], ...) with an array per column, or a multi-row VALUES list"
        }
        if let equals = fingerprint.range(of: #"([A-Za-z_"][A-Za-z0-9_."]*) = \$([0-9]+)"#, options: .regularExpression)
        {
            let match = String(fingerprint[equals])
            let parts = match.components(separatedBy: " = ")
            let batched = fingerprint.replacingCharacters(in: equals, with: "\(parts[0]) = ANY(\(parts[1]))")
            var note = "one statement for all the request's values of \(parts[1]), passed as one array"
            if tokens.contains(where: { $0.uppercased() == "LIMIT" }) {
                note += "; a LIMIT per value becomes a LATERAL join over unnest(\(parts[1]))"
            } else if !upper.hasPrefix("UPDATE"), !upper.hasPrefix("DELETE") {
                note += ", with \(parts[0]) in the select list to match the rows back"
            }
            return "\(batched)  -- \(note)"
        }
        return
            "load what the loop needs in one statement: a JOIN to the parent query, or WHERE key = ANY($1) over the request's keys"
    }
}
