import Foundation
import HTTPTypes
import Hummingbird
import WedSyncModels
import WedSyncServiceKit

/// `POST /v1/analyze`.
struct QueryOptimizerRoutes {
    let analyzer: StatementAnalyzer

    func register(_ routes: ServiceRoutes) {
        let analyzer = self.analyzer
        routes.post(
            APIPath.QueryOptimizer.analyze,
            RouteSpec(
                summary: "Explain a statement on the target database: the plan, findings, and index recommendations proven with hypopg",
                description: "Runs `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` (or plain `EXPLAIN` with `analyze` false) inside a transaction that "
                    + "is always rolled back, read-only, under a statement timeout. It runs any query on the target database, so it takes the admin "
                    + "token; a statement that writes is refused (403 `write_refused`) unless `allowWrite` is set as well.",
                tags: ["analysis"],
                access: .admin,
                requestBody: .of(AnalyzeRequest.self),
                response: .of(AnalyzeResponse.self)
            )
        ) { request, context in
            let body = try await request.decodeJSON(AnalyzeRequest.self, context: context)
            let sql = body.sql.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !sql.isEmpty, sql.utf8.count <= 100_000 else { throw ServiceError.badRequest("sql: a statement of 1 to 100,000 bytes", code: "invalid_body") }
            guard (body.params ?? []).count <= 1_000 else { throw ServiceError.badRequest("params: at most 1,000", code: "invalid_body") }
            if body.allowWrite != true, !ExplainRunner.isReadOnly(sql) {
                throw ServiceError(.forbidden, code: "write_refused", message: "only SELECT is explained without allowWrite and the admin token")
            }
            var checked = body
            checked.sql = sql.hasSuffix(";") ? String(sql.dropLast()) : sql
            return try await analyzer.analyze(checked)
        }
    }
}
