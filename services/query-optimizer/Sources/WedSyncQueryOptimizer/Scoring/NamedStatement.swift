import Foundation

/// A statement of a script that names each of its statements with a comment line before it:
/// `-- Q3: what it asks`, then the statement, up to the `;` that ends a line.
public struct NamedStatement: Sendable, Equatable {
    public var name: String
    public var summary: String
    public var sql: String

    public init(name: String, summary: String, sql: String) {
        self.name = name
        self.summary = summary
        self.sql = sql
    }

    /// The named statements of `script`, in order; text before the first name is left out.
    public static func parse(_ script: String) -> [NamedStatement] {
        var statements: [NamedStatement] = []
        var current: (name: String, summary: String, lines: [Substring])?
        func finish() {
            guard let open = current else { return }
            var sql = open.lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            if sql.hasSuffix(";") { sql.removeLast() }
            if !sql.isEmpty { statements.append(NamedStatement(name: open.name, summary: open.summary, sql: sql)) }
            current = nil
        }
        for line in script.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("-- "), let colon = line.firstIndex(of: ":"),
                !line[line.index(line.startIndex, offsetBy: 3)..<colon].contains(" ")
            {
                finish()
                current = (
                    String(line[line.index(line.startIndex, offsetBy: 3)..<colon]),
                    line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces), []
                )
            } else if current != nil {
                current?.lines.append(line)
            }
        }
        finish()
        return statements
    }
}
