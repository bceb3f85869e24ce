import Foundation
import Logging
import NIOHTTP1
import Testing
import WedSyncModels
import WedSyncPostgres
import WedSyncQueryOptimizer
import WedSyncTestSupport

/// The optimizer on an analytical workload of its own (``AnalyticsFixture``): 22 decision-support queries over a
/// snowflake schema in schema `olap`, with joins, correlated subqueries, EXISTS and IN, LIKE prefixes, date
/// ranges and GROUP BY, columns mostly unqualified. Scored as any index advisor is: each recommendation made
/// hypothetically in a session of its own and the statement planned with plain EXPLAIN.
@Suite("Query optimizer: an analytical workload in its own schema", .serialized, .timeLimit(.minutes(5)))
struct QueryOptimizerAnalyticsTests {
    static var fixture: Task<AnalyticsFixture, any Error> { AnalyticsFixture.shared }

    /// Every query analyzed once, plan only (several would take minutes to run without their indexes).
    static let analyses = Task { () throws -> [(query: NamedStatement, response: AnalyzeResponse)] in
        let fixture = try await AnalyticsFixture.shared.value
        var analyses: [(query: NamedStatement, response: AnalyzeResponse)] = []
        for query in fixture.queries {
            let body = String(
                decoding: try JSONEncoder().encode(AnalyzeRequest(sql: query.sql, analyze: false)),
                as: UTF8.self
            )
            let answer = try await HTTP.send(
                .POST,
                fixture.service.baseURL + "/v1/analyze",
                headers: GatewayProcess.admin + [("Content-Type", "application/json")],
                body: body
            )
            guard answer.status == 200 else {
                throw QueryOptimizerFixture.Failure(description: "\(query.name): \(answer.status) \(answer.text)")
            }
            analyses.append((query, try WedSyncJSON.makeDecoder().decode(AnalyzeResponse.self, from: answer.data)))
        }
        return analyses
    }

    @Test(
        "22 queries: recommendations on at least 12, each in schema olap; the correlated subquery's join column cuts its cost by over 90%; a LIKE prefix gets text_pattern_ops; queries existing indexes serve get none"
    )
    func recommendations() async throws {
        let analyses = try await Self.analyses.value
        #expect(analyses.count == 22)
        let served = analyses.filter { !$0.response.recommendations.isEmpty }
        #expect(served.count >= 12, "\(served.map { $0.query.name })")
        for (query, response) in analyses {
            let statements = response.recommendations.map(\.createStatement)
            #expect(
                response.recommendations.allSatisfy { $0.schema == "olap" }
                    && statements.allSatisfy { $0.contains(" ON olap.") },
                "\(query.name): \(statements)"
            )
            print(
                "olap \(query.name): cost \(Int(response.totalCost)), "
                    + (response.recommendations.first.map {
                        "\($0.createStatement) \(Int($0.costBefore)) -> \(Int($0.costAfter))"
                    } ?? "no recommendation")
            )
        }
        let byName = Dictionary(uniqueKeysWithValues: analyses.map { ($0.query.name, $0.response) })
        let correlated = try #require(byName["Q3"]?.recommendations.first { $0.columns == ["prod_key"] })
        #expect(correlated.table == "sales" && correlated.improvement > 0.9, "\(correlated)")
        #expect(
            byName["Q7"]?.recommendations.first?.createStatement.contains("(c_name text_pattern_ops)") == true,
            "a C.UTF-8 collation: only text_pattern_ops serves LIKE 'Customer 123%': \(byName["Q7"]?.recommendations ?? [])"
        )
        // The latest pending shipments: the key serves the order, INCLUDE (sale_id) lets the index answer alone.
        #expect(
            byName["Q9"]?.recommendations.first.map {
                $0.columns == ["status", "ship_date"] && $0.include == ["sale_id"]
            }
                == true,
            "\(byName["Q9"]?.recommendations ?? [])"
        )
        for name in ["Q8", "Q15"] {
            #expect(byName[name]?.recommendations.isEmpty == true, "\(name): \(byName[name]?.recommendations ?? [])")
        }
        // olap.clients, though public.clients has an index on (organization_id, wedding_date).
        #expect(
            byName["Q22"]?.recommendations.contains {
                $0.table == "clients" && $0.columns == ["organization_id", "wedding_date"]
            } == true,
            "\(byName["Q22"]?.recommendations ?? [])"
        )
    }

    @Test("No recommended index, alone or in a combination, has the leading key columns of an index the table has")
    func noDuplicates() async throws {
        let fixture = try await Self.fixture.value
        let analyses = try await Self.analyses.value
        // Every valid index of the schema: its table and key columns in order.
        let rows = try await fixture.pool.query(
            """
            SELECT t.relname, array_to_string(ARRAY(SELECT a.attname FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(n, o)
                JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n WHERE k.o <= x.indnkeyatts ORDER BY k.o), ',')
            FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid WHERE t.relnamespace = 'olap'::regnamespace
            """
        )
        var existing: [String: [[String]]] = [:]
        for row in rows {
            existing[try row.decode(String.self, at: 0), default: []].append(
                try row.decode(String.self, at: 1).split(separator: ",").map(String.init)
            )
        }
        #expect(existing["sales"]?.contains(["d_key"]) == true && existing["product"]?.contains(["p_brand"]) == true)
        var checked = 0
        for (query, response) in analyses {
            let statements =
                response.recommendations.map(\.createStatement)
                + response.combinations.flatMap(\.createStatements)
            for statement in statements {
                let (table, keys) = try #require(Self.keys(of: statement), "\(statement)")
                checked += 1
                #expect(
                    !(existing[table] ?? []).contains {
                        $0.count >= keys.count && Array($0.prefix(keys.count)) == keys
                    },
                    "\(query.name): \(statement) repeats an existing index's leading columns"
                )
            }
        }
        #expect(checked >= 12)
    }

    @Test(
        "Every recommendation's and combination's costAfter, and every costBefore, reproduce within 1% in a fresh session"
    )
    func costsReproduce() async throws {
        let fixture = try await Self.fixture.value
        let analyses = try await Self.analyses.value
        // A pool of its own: a session nothing else has touched.
        let fresh = PostgresPool(
            name: "fresh",
            configuration: try PostgresConfiguration(url: fixture.url),
            logger: Logger(label: "test")
        )
        var compared = 0
        try await fresh.withConnection { connection in
            for (query, response) in analyses where !response.recommendations.isEmpty {
                let before = try await IndexSetScore.costs(of: [query.sql], with: [], on: connection)[0]
                #expect(abs(before - response.totalCost) <= response.totalCost * 0.01, "\(query.name): \(before)")
                let sets =
                    response.recommendations.map { ([$0.createStatement], $0.costBefore, $0.costAfter) }
                    + response.combinations.map { ($0.createStatements, $0.costBefore, $0.costAfter) }
                for (indexes, costBefore, costAfter) in sets {
                    #expect(abs(before - costBefore) <= costBefore * 0.01, "\(query.name): \(before) \(costBefore)")
                    let after = try await IndexSetScore.costs(of: [query.sql], with: indexes, on: connection)[0]
                    #expect(
                        abs(after - costAfter) <= costAfter * 0.01,
                        "\(query.name): \(indexes) gave \(after), the optimizer said \(costAfter)"
                    )
                    compared += 1
                }
            }
        }
        await fresh.shutdown()
        #expect(compared >= 12)
    }

    /// `("sales", ["status", "d_key"])` of `CREATE INDEX ... ON olap.sales (status, d_key) INCLUDE (...)`: the
    /// table and its key columns, operator classes left out.
    static func keys(of statement: String) -> (String, [String])? {
        guard let on = statement.range(of: " ON "), let open = statement[on.upperBound...].firstIndex(of: "("),
            let close = statement[open...].firstIndex(of: ")")
        else { return nil }
        let table = statement[on.upperBound..<open].trimmingCharacters(in: .whitespaces).split(separator: ".").last
        let keys = statement[statement.index(after: open)..<close].split(separator: ",").compactMap {
            $0.split(separator: " ").first.map(String.init)
        }
        return table.map { (String($0), keys) }
    }
}
