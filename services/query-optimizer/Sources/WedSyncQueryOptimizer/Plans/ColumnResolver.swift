import Foundation

/// Finds the table column a plan's expression refers to. `EXPLAIN VERBOSE` qualifies every column with its scan's
/// name in the statement, made unique (`c`, `c_1`), also inside subplans and correlated subqueries, where a column
/// of the outer query keeps the outer scan's name (`s2.prod_key = s.prod_key`). A name can also be that of a
/// subquery or a common table expression (`totals.cust_key`): such a column is followed into the plan that makes
/// it, by name, to the table column it passes through (a computed or renamed one leads to no table).
public struct ColumnResolver: Sendable {
    /// A scan's name → its table.
    let tables: [String: RelationName]
    /// A subquery's or CTE scan's name → the outputs of the plan that makes its rows.
    let derived: [String: [String]]

    public init(_ plan: PlanNode) {
        tables = PlanAnalyzer.aliases(plan)
        var ctes: [String: [String]] = [:]
        for node in plan.allNodes {
            if let name = node.subplanName, name.hasPrefix("CTE ") {
                ctes[String(name.dropFirst(4))] = node.output ?? []
            }
        }
        var derived: [String: [String]] = [:]
        for node in plan.allNodes {
            guard let alias = node.alias, node.relation == nil else { continue }
            if node.nodeType == "CTE Scan", let cte = node.cteName, let outputs = ctes[cte] {
                derived[alias] = outputs
            } else if node.nodeType == "Subquery Scan", let child = node.children.first {
                derived[alias] = child.output ?? []
            }
        }
        self.derived = derived
    }

    /// The table and column `qualifier.column` names in `node`'s expressions; a column without a qualifier is the
    /// node's own table's (plans without `VERBOSE`). `nil` when it leads to no table column.
    public func resolve(_ qualifier: String?, _ column: String, in node: PlanNode) -> (RelationName, String)? {
        guard let qualifier else { return node.relationName.map { ($0, column) } }
        return resolve(qualifier, column, depth: 0)
    }

    private func resolve(_ qualifier: String, _ column: String, depth: Int) -> (RelationName, String)? {
        if let table = tables[qualifier] { return (table, column) }
        guard depth < 8, let outputs = derived[qualifier] else { return nil }
        // The output passing the column through unchanged: `sales.cust_key` for `totals.cust_key`.
        for output in outputs {
            let references = PredicateColumns.columnReferences(in: output)
            guard references.count == 1, let reference = references.first, reference.column == column,
                output.trimmingCharacters(in: .init(charactersIn: "()"))
                    == [reference.qualifier, column]
                    .compactMap { $0 }.joined(separator: ".")
            else { continue }
            return reference.qualifier.flatMap { resolve($0, column, depth: depth + 1) }
        }
        return nil
    }
}
