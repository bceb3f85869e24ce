/// A table as the catalog knows it: its schema and its name. A plan explained with `VERBOSE` names both
/// (`"Schema": "olap"`); a plan without it names the table only, and the schema is whichever the search path
/// finds first.
public struct RelationName: Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// `nil`: the first schema of the search path holding a table of that name.
    public var schema: String?
    public var name: String

    public init(schema: String?, name: String) {
        self.schema = schema
        self.name = name
    }

    /// `"olap.sales"` or `"clients"` (a name with no dot has no schema).
    public init(stringLiteral text: String) {
        if let dot = text.firstIndex(of: ".") {
            self.init(schema: String(text[..<dot]), name: String(text[text.index(after: dot)...]))
        } else {
            self.init(schema: nil, name: text)
        }
    }

    /// `olap.sales`, as a reader writes it (no quotes).
    public var description: String { schema.map { "\($0).\(name)" } ?? name }

    /// `olap.sales`, `"Tenant".clients`: as a statement takes it, each part quoted when it needs to be.
    public var sql: String {
        let table = IndexAdvisor.Candidate.quoted(name)
        return schema.map { IndexAdvisor.Candidate.quoted($0) + "." + table } ?? table
    }

    public static func < (left: Self, right: Self) -> Bool {
        (left.schema ?? "", left.name) < (right.schema ?? "", right.name)
    }
}
