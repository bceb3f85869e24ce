import Foundation

/// PostgreSQL's lexical structure, as much as the optimizer reads: plan conditions (``PredicateColumns``),
/// statements to fold into fingerprints (``StatementFingerprint``), and the read-only check.
///
/// Comments (`--` to the end of the line, `/* */` nested) are skipped; strings (`'...'` with `''`, `E'...'` with
/// backslash escapes, dollar quotes `$$...$$` and `$tag$...$tag$`) are one token each, so a quote in a comment or
/// a comment marker in a string is read as what it is. It reads Unicode scalars, as PostgreSQL reads code points:
/// a quote joined to a combining mark in one grapheme is still a quote, `\r\n` still ends a comment.
enum SQLLexer {
    enum Token: Equatable {
        /// A name or keyword; a quoted identifier without its quotes (`""` inside made one `"`).
        case identifier(String)
        /// A string constant as written, its quotes included.
        case literal(String)
        case number(String)
        /// `$1`.
        case parameter(String)
        /// One character, or `::`, `>=`, `<=`, `<>` (also for `!=`) and `~~`.
        case symbol(String)
    }

    static let pairs: Set<String> = ["::", ">=", "<=", "<>", "!=", "~~"]

    /// The tokens of `text`, at most `limit`.
    static func tokens(_ text: String, limit: Int = .max) -> [Token] {
        let characters = Array(text.unicodeScalars)
        var tokens: [Token] = []
        var index = 0
        func at(_ offset: Int) -> Unicode.Scalar? {
            index + offset < characters.count ? characters[index + offset] : nil
        }
        func string(_ range: Range<Int>) -> String { String(String.UnicodeScalarView(characters[range])) }
        /// The quoted run opening at `index`, up to its closing `quote` (a doubled one, or with `backslashes` an
        /// escaped one, stays inside); `index` ends past it.
        func quoted(_ quote: Unicode.Scalar, backslashes: Bool) -> String {
            let start = index
            index += 1
            while index < characters.count {
                let character = characters[index]
                if backslashes, character == "\\" {
                    index += 2
                    continue
                }
                index += 1
                if character == quote {
                    guard at(0) == quote else { break }
                    index += 1
                }
            }
            return string(start..<min(index, characters.count))
        }
        while index < characters.count, tokens.count < limit {
            let character = characters[index]
            if character.properties.isWhitespace {
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
                tokens.append(.literal(quoted("'", backslashes: false)))
            } else if character == "E" || character == "e", at(1) == "'" {
                index += 1
                tokens.append(.literal("E" + quoted("'", backslashes: true)))
            } else if character == "\"" {
                let text = quoted("\"", backslashes: false)
                tokens.append(
                    .identifier(
                        String(text.dropFirst().dropLast(text.count > 1 && text.hasSuffix("\"") ? 1 : 0))
                            .replacingOccurrences(of: "\"\"", with: "\"")
                    )
                )
            } else if character == "$", let next = at(1), isDigit(next) {
                var text = "$"
                index += 1
                while index < characters.count, isDigit(characters[index]) {
                    text.unicodeScalars.append(characters[index])
                    index += 1
                }
                tokens.append(.parameter(text))
            } else if character == "$", let tag = dollarTag(characters, at: index) {
                // A dollar quote, up to the same tag.
                let start = index
                index += tag.count
                while index < characters.count {
                    if characters[index] == "$", index + tag.count <= characters.count,
                        Array(characters[index..<(index + tag.count)]) == tag
                    {
                        index += tag.count
                        break
                    }
                    index += 1
                }
                tokens.append(.literal(string(start..<min(index, characters.count))))
            } else if isWordStart(character) {
                let start = index
                while index < characters.count,
                    isWordStart(characters[index]) || isDigit(characters[index]) || characters[index] == "$"
                {
                    index += 1
                }
                tokens.append(.identifier(string(start..<index)))
            } else if isDigit(character) || (character == "." && at(1).map(isDigit) == true) {
                let start = index
                while index < characters.count, isDigit(characters[index]) || characters[index] == "." {
                    index += 1
                }
                if index < characters.count, characters[index] == "e" || characters[index] == "E", let next = at(1),
                    isDigit(next) || ((next == "-" || next == "+") && at(2).map(isDigit) == true)
                {
                    index += 2
                    while index < characters.count, isDigit(characters[index]) { index += 1 }
                }
                tokens.append(.number(string(start..<index)))
            } else {
                let pair = at(1).map { String(String.UnicodeScalarView([character, $0])) } ?? ""
                if pairs.contains(pair) {
                    tokens.append(.symbol(pair == "!=" ? "<>" : pair))
                    index += 2
                } else {
                    tokens.append(.symbol(String(String.UnicodeScalarView([character]))))
                    index += 1
                }
            }
        }
        return tokens
    }

    /// `$tag$` (the tag of letters, digits and underscores, not starting with a digit) opening at `index`.
    static func dollarTag(_ characters: [Unicode.Scalar], at index: Int) -> [Unicode.Scalar]? {
        var end = index + 1
        while end < characters.count, isWordStart(characters[end]) || isDigit(characters[end]) { end += 1 }
        guard end < characters.count, characters[end] == "$" else { return nil }
        if end > index + 1, isDigit(characters[index + 1]) { return nil }
        return Array(characters[index...end])
    }

    static func isDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }

    /// A letter (any alphabet, as PostgreSQL takes non-ASCII bytes in names) or an underscore.
    static func isWordStart(_ scalar: Unicode.Scalar) -> Bool { scalar == "_" || scalar.properties.isAlphabetic }
}
