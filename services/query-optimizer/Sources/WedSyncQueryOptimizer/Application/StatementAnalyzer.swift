import Foundation
import Logging
import WedSyncModels
import WedSyncPostgres

/// Explains a statement, reads its findings, and proves index recommendations, all on one connection in one
/// rolled-back transaction.
public struct StatementAnalyzer: Sendable {
    let runner: ExplainRunner
    let advisor: IndexAdvisor
    let analyzer = PlanAnalyzer()
    let logger: Logger

    public init(runner: ExplainRunner, advisor: IndexAdvisor, logger: Logger) {
        self.runner = runner
        self.advisor = advisor
        self.logger = logger
    }

    public func analyze(_ request: AnalyzeRequest) async throws -> AnalyzeResponse {
        let params = (request.params ?? []).map(\.postgresText)
        let analyze = request.analyze ?? true
        let recommend = request.recommend ?? true
        let advisor = self.advisor
        let analyzer = self.analyzer
        let logger = self.logger
        let sql = request.sql
        let (output, extra) = try await runner.explain(
            sql,
            params: params,
            analyze: analyze,
            allowWrite: request.allowWrite == true,
            statementTimeout: request.timeoutMs.map { .milliseconds(Int(saturating: $0)) },
            searchPath: request.searchPath
        ) { connection, output in
            let tables = Set(output.plan.allNodes.compactMap(\.relationName))
            let catalog = try await CatalogReader.facts(for: tables, on: connection)
            var findings = analyzer.findings(output.plan, catalog: catalog)
            var advice = IndexAdvisor.Advice(recommendations: [], combinations: [])
            if recommend {
                if let hypopg = try await Hypopg.find(on: connection) {
                    // Under a savepoint: hypopg refusing costs the recommendations only.
                    try await connection.simpleQuery("SAVEPOINT advisor")
                    do {
                        advice = try await advisor.recommend(
                            sql,
                            params: params,
                            plan: output.plan,
                            catalog: catalog,
                            hypopg: hypopg,
                            on: connection
                        )
                        try await connection.simpleQuery("RELEASE SAVEPOINT advisor")
                    } catch let error as PostgresError where error.code == .server && error.sqlState != "57014" {
                        try await connection.simpleQuery("ROLLBACK TO SAVEPOINT advisor")
                        logger.warning("index recommendations failed", metadata: ["error": "\(error)"])
                        findings.append(
                            PlanFinding(
                                kind: "hypopg_unusable",
                                severity: "info",
                                node: "database",
                                message:
                                    "hypopg is installed but could not be used (SQLSTATE \(error.sqlState ?? "")): grant the optimizer's role USAGE on its schema"
                            )
                        )
                    }
                } else {
                    logger.warning("hypopg is not installed in the target database: no recommendations")
                    findings.append(
                        PlanFinding(
                            kind: "hypopg_missing",
                            severity: "info",
                            node: "database",
                            message:
                                "CREATE EXTENSION hypopg in the target database to get index recommendations proven with hypothetical indexes"
                        )
                    )
                }
            }
            return (findings, advice)
        }
        let nodes = output.plan.allNodes
        return AnalyzeResponse(
            analyzed: analyze,
            plan: output.plan,
            totalCost: output.plan.totalCost,
            executionTimeMs: output.executionTimeMs,
            planningTimeMs: output.planningTimeMs,
            indexUsage: nodes.contains { $0.nodeType.contains("Index") },
            fullTableScan: nodes.contains { $0.nodeType.hasSuffix("Seq Scan") },
            findings: extra.0,
            recommendations: extra.1.recommendations,
            combinations: extra.1.combinations
        )
    }
}
