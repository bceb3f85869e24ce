import Foundation
import Logging
import NIOHTTP1
import WedSyncModels
import WedSyncPostgres
import WedSyncQueryOptimizer

/// Index advisors on the analytical workload of `tests/fixtures/optimizer` (scripts/bench makes the database and
/// runs the queries three times first), every advisor's indexes scored the same way: made hypothetically (hypopg)
/// in a fresh session, each query planned with plain EXPLAIN, the mean of each query's cost cut, and how many
/// indexes it took. The advisors:
///
/// - the optimizer per statement: `POST /v1/analyze` of each query (plan only), its best answer (the first
///   recommendation, or the combination when that does better);
/// - the optimizer over the workload: `GET /v1/workload` (generic plans of `pg_stat_statements`' statements);
/// - pg_qualstats' `pg_qualstats_index_advisor()` with its default thresholds, from the predicates it sampled as
///   the queries ran.
enum OptimizerOlapBenchmark {
    static func run(_ arguments: BenchArguments) async throws {
        let optimizer = try arguments.string("optimizer-url")
        let token = try arguments.string("admin-token")
        let url = try arguments.string("database-url")
        let queries = NamedStatement.parse(
            try String(contentsOfFile: try arguments.string("queries"), encoding: .utf8)
        )
        var advisors: [(tool: String, indexes: [String], seconds: Double)] = []

        var started = ContinuousClock.now
        var best: [String] = []
        for query in queries {
            let answer = try await OptimizerBenchmark.send(
                .POST,
                optimizer + "/v1/analyze",
                token: token,
                body: try JSONEncoder().encode(AnalyzeRequest(sql: query.sql, analyze: false))
            )
            let response = try WedSyncJSON.makeDecoder().decode(AnalyzeResponse.self, from: answer)
            let single = response.recommendations.first
            if let pair = response.combinations.first, pair.costAfter < single?.costAfter ?? .infinity {
                best += pair.createStatements
            } else if let single {
                best.append(single.createStatement)
            }
        }
        advisors.append(("wedsync-query-optimizer, /v1/analyze per query", unique(best), seconds(since: started)))

        started = ContinuousClock.now
        let workload = try WedSyncJSON.makeDecoder().decode(
            WorkloadReport.self,
            from: try await OptimizerBenchmark.send(
                .GET,
                optimizer + "/v1/workload?top=50",
                token: token,
                body: nil
            )
        )
        advisors.append(
            (
                "wedsync-query-optimizer, /v1/workload", workload.recommendations.map(\.createStatement),
                seconds(since: started)
            )
        )

        let pool = PostgresPool(
            name: "bench",
            configuration: try PostgresConfiguration(url: url),
            logger: Logger(label: "bench")
        )
        started = ContinuousClock.now
        let advised = try await pool.query(
            """
            SELECT e.value FROM jsonb_array_elements_text(
                pg_qualstats_index_advisor(min_filter => 1000, min_selectivity => 30)::jsonb -> 'indexes') e
            """
        )
        let qualstats = try advised.map { try $0.decode(String.self, at: 0) }
        advisors.append(("pg_qualstats 2 index advisor (defaults)", unique(qualstats), seconds(since: started)))
        await pool.shutdown()

        for (tool, indexes, seconds) in advisors {
            // A fresh session for each advisor: nothing of another's can move its figures.
            let fresh = PostgresPool(
                name: "score",
                configuration: try PostgresConfiguration(url: url),
                logger: Logger(label: "bench")
            )
            let (before, after) = try await fresh.withConnection { connection in
                (
                    try await IndexSetScore.costs(of: queries.map(\.sql), with: [], on: connection),
                    try await IndexSetScore.costs(of: queries.map(\.sql), with: indexes, on: connection)
                )
            }
            await fresh.shutdown()
            let cuts = zip(before, after).map { before, after in before > 0 ? max(0, 1 - after / before) : 0 }
            print(
                try OptimizerBenchmark.json([
                    "benchmark": "optimizer-olap", "tool": tool, "queries": queries.count, "indexes": indexes.count,
                    "meanCut": cuts.reduce(0, +) / Double(max(cuts.count, 1)),
                    "improved": cuts.filter { $0 >= 0.1 }.count, "seconds": seconds, "createStatements": indexes,
                    "cuts": Dictionary(uniqueKeysWithValues: zip(queries.map(\.name), cuts)),
                ])
            )
        }
    }

    /// `statements` without repeats (the same index recommended for two queries is one index), in order.
    static func unique(_ statements: [String]) -> [String] {
        var seen = Set<String>()
        return statements.filter { seen.insert($0).inserted }
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        (ContinuousClock.now - start) / .seconds(1)
    }
}
