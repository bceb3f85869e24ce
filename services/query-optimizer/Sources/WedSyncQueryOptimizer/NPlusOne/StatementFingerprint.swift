import Foundation

/// Statement text made safe to show and to group by: string and number constants become `?`, comments go, and
/// runs of whitespace become one space. `$n` parameters stay. What services report is normalised already; this
/// makes sure a constant (a guest's name in a literal) never reaches a report, and that statements differing
/// only in their constants group together.
///
/// One lexer reads comments (`--`, nested `/* */`), strings (`'...'` with `''`, `E'...'` with backslash escapes),
/// dollar quotes (`$$...$$`, `$tag$...$tag$`), quoted identifiers and numbers, so a quote inside a comment or
/// a comment marker inside a string is read as what it is.
public enum StatementFingerprint {
    /// A piece of a statement.
    enum Piece: Equatable {
        case word(String)
        case constant
        case parameter(String)
        case symbol(Character)
    }

    /// The statement's pieces, without comments and whitespace; at most `limit` of them.
    static func pieces(_ sql: String, limit: Int = 100_000) -> [Piece] {
        let characters = Array(sql)
        var pieces: [Piece] = []
        var index = 0
        func at(_ offset: Int) -> Character? { index + offset < characters.count ? characters[index + offset] : nil }
        /// Skips a quoted run from the opening quote at `index`; `backslashes`: `\x` escapes (E-strings).
        func skipQuoted(_ quote: Character, backslashes: Bool) {
            index += 1
            while index < characters.count {
                let character = characters[index]
                if backslashes, character == "\\" {
                    index += 2
                    continue
                }
                if character == quote {
                    if at(1) == quote {
                        index += 2
                        continue
                    }
                    index += 1
                    return
                }
                index += 1
            }
        }
        while index < characters.count, pieces.count < limit {
            let character = characters[index]
            if character.isWhitespace {
                index += 1
            } else if character == "-", at(1) == "-" {
                while index < characters.count, characters[index] != "\n" { index += 1 }
            } else if character == "/", at(1) == "*" {
                var depth = 0
                while index < characters.count {
                    if characters[index] == "/", at(1) == "*" {
                        depth += 1
                        index += 2
                    } else if characters[index] == "*", at(1) == "/" {
                        depth -= 1
                        index += 2
                        if depth == 0 { break }
                    } else {
                        index += 1
                    }
                }
            } else if character == "'" {
                skipQuoted("'", backslashes: false)
                pieces.append(.constant)
            } else if (character == "E" || character == "e"), at(1) == "'", !(pieces.last.map { if case .word = $0 { true } else { false } } ?? false) {
                index += 1
                skipQuoted("'", backslashes: true)
                pieces.append(.constant)
            } else if character == "\"" {
                let start = index
                skipQuoted("\"", backslashes: false)
                pieces.append(.word(String(characters[start..<min(index, characters.count)])))
            } else if character == "$", let next = at(1), next.isNumber {
                var text = "$"
                index += 1
                while index < characters.count, characters[index].isNumber {
                    text.append(characters[index])
                    index += 1
                }
                pieces.append(.parameter(text))
            } else if character == "$" {
                // A dollar quote: `$tag$` (the tag letters, digits, underscores) up to the same tag.
                var end = index + 1
                while end < characters.count, characters[end].isLetter || characters[end].isNumber || characters[end] == "_" { end += 1 }
                guard end < characters.count, characters[end] == "$" else {
                    pieces.append(.symbol(character))
                    index += 1
                    continue
                }
                let tag = Array(characters[index...end])
                index = end + 1
                while index < characters.count {
                    if characters[index] == "$", index + tag.count <= characters.count, Array(characters[index..<(index + tag.count)]) == tag {
                        index += tag.count
                        break
                    }
                    index += 1
                }
                pieces.append(.constant)
            } else if character.isLetter || character == "_" {
                let start = index
                while index < characters.count, characters[index].isLetter || characters[index].isNumber || characters[index] == "_" || characters[index] == "$" {
                    index += 1
                }
                pieces.append(.word(String(characters[start..<index])))
            } else if character.isNumber || (character == "." && at(1)?.isNumber == true) {
                while index < characters.count, characters[index].isNumber || characters[index] == "." || characters[index] == "e" || characters[index] == "E" {
                    if (characters[index] == "e" || characters[index] == "E"), at(1) == "-" || at(1) == "+" { index += 1 }
                    index += 1
                }
                pieces.append(.constant)
            } else {
                pieces.append(.symbol(character))
                index += 1
            }
        }
        return pieces
    }

    /// `SELECT * FROM guests WHERE name = 'Ann' AND id = 42` → `SELECT * FROM guests WHERE name = ? AND id = ?`.
    public static func normalize(_ sql: String, limit: Int = 1_000) -> String {
        var result = ""
        var length = 0
        var previous: Piece?
        for piece in pieces(sql, limit: limit) {
            let text: String
            switch piece {
            case .word(let word): text = word
            case .constant: text = "?"
            case .parameter(let name): text = name
            case .symbol(let symbol): text = String(symbol)
            }
            // No space around `.`, before `,` `)` `::`-halves and `(` after a word (a call), or after `(`.
            var glued = false
            if case .symbol(let symbol) = piece, [".", ",", ")", ":", "["].contains(symbol) { glued = true }
            if case .symbol(let symbol)? = previous, [".", "(", ":", "["].contains(symbol) { glued = true }
            if case .symbol("(") = piece, case .word(let word)? = previous, !Self.keywords.contains(word.lowercased()) { glued = true }
            if !result.isEmpty, !glued {
                result.append(" ")
                length += 1
            }
            result += text
            length += text.count
            previous = piece
            if length >= limit { break }
        }
        return result
    }

    /// Words after which `(` opens a list or a subquery, not a call's arguments.
    static let keywords: Set<String> = [
        "in", "values", "exists", "any", "all", "as", "on", "using", "from", "join", "where", "and", "or", "not", "select", "over", "filter",
        "within", "into", "set", "by", "lateral", "with", "when", "then", "else", "case", "is",
    ]

    /// The statement's first keyword, lower case, past comments and opening parentheses: `select`, `with`,
    /// `alter`...; `nil` for an empty statement.
    public static func firstKeyword(_ sql: String) -> String? {
        for piece in pieces(sql, limit: 64) {
            switch piece {
            case .word(let word): return word.lowercased()
            case .symbol("("): continue
            default: return nil
            }
        }
        return nil
    }

    /// The text without its comments (quotes respected), for checks that read words.
    public static func withoutComments(_ sql: String) -> String {
        var result = ""
        let characters = Array(sql)
        var index = 0
        var quote: Character?
        while index < characters.count {
            let character = characters[index]
            let next = index + 1 < characters.count ? characters[index + 1] : nil
            if let open = quote {
                result.append(character)
                if character == open { quote = nil }
                index += 1
            } else if character == "'" || character == "\"" {
                quote = character
                result.append(character)
                index += 1
            } else if character == "-", next == "-" {
                while index < characters.count, characters[index] != "\n" { index += 1 }
            } else if character == "/", next == "*" {
                var depth = 0
                while index < characters.count {
                    if characters[index] == "/", index + 1 < characters.count, characters[index + 1] == "*" {
                        depth += 1
                        index += 2
                    } else if characters[index] == "*", index + 1 < characters.count, characters[index + 1] == "/" {
                        depth -= 1
                        index += 2
                        if depth == 0 { break }
                    } else {
                        index += 1
                    }
                }
                result.append(" ")
            } else {
                result.append(character)
                index += 1
            }
        }
        return result
    }

    /// The one statement an N+1's repeated statement should become: its first `column = $n` as
    /// `column = ANY($n)` (the request's values as one array), with a note for what that changes.
    public static func batchedForm(of fingerprint: String) -> String {
        let tokens = fingerprint.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let upper = fingerprint.uppercased()
        if upper.hasPrefix("INSERT") {
            return "one INSERT for the whole request: INSERT ... SELECT * FROM unnest($1::type[], $2::type[], ...) with an array per column, or a multi-row VALUES list"
        }
        if let equals = fingerprint.range(of: #"([A-Za-z_"][A-Za-z0-9_."]*) = \$([0-9]+)"#, options: .regularExpression) {
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
        return "load what the loop needs in one statement: a JOIN to the parent query, or WHERE key = ANY($1) over the request's keys"
    }
}
