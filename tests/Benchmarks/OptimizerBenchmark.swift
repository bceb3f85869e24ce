import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import WedSyncModels
import WedSyncPostgres
import WedSyncQueryOptimizer

/// The query optimizer on a database of a million clients without the right indexes (scripts/bench makes it):
///
/// - `POST /v1/analyze` of the clients query, plan and findings only (`recommend: false`) and with proven
///   recommendations (hypopg), `--samples` times each, one at a time: the server's time;
/// - `GET /v1/workload` over a workload of 50 distinct statements (each run 3 times first, after
///   `pg_stat_statements_reset()`): the time to plan them all and choose indexes across them, `--rounds` times.
enum OptimizerBenchmark {
    static let clientsQuery = """
        SELECT c.*, g.guest_count FROM clients c LEFT JOIN guest_lists g ON c.id = g.client_id
        WHERE c.organization_id = $1 AND c.wedding_date BETWEEN $2 AND $3
        """

    /// One statement of the workload and the parameters of its n-th call.
    struct Statement {
        var sql: String
        var params: (Int) -> [any PostgresBindable]
    }

    /// Ten shapes of statement on the three tables, each with five select lists: 50 distinct statements.
    static func workload() -> [Statement] {
        let lists = ["id", "id, name", "id, status", "id, budget", "*"]
        let paymentLists = ["id", "id, amount", "id, paid_on", "id, method", "*"]
        let guestLists = ["g.id", "g.client_id", "g.id, g.client_id", "g.client_id, g.id", "g.*"]
        var statements: [Statement] = []
        for index in 0..<5 {
            let list = lists[index]
            let payment = paymentLists[index]
            let joined =
                payment == "*"
                ? "p.*"
                : payment.split(separator: ",").map { "p." + $0.trimmingCharacters(in: .whitespaces) }.joined(
                    separator: ", "
                )
            let organization: (Int) -> [any PostgresBindable] = { [Int64(1 + $0 % 1000)] }
            statements.append(
                Statement(sql: "SELECT \(list) FROM clients WHERE organization_id = $1", params: organization)
            )
            statements.append(
                Statement(sql: "SELECT \(list) FROM clients WHERE organization_id = $1 AND status = $2") {
                    [Int64(1 + $0 % 1000), "active"]
                }
            )
            statements.append(
                Statement(
                    sql:
                        "SELECT \(list) FROM clients WHERE organization_id = $1 AND wedding_date >= $2::date ORDER BY wedding_date"
                ) {
                    [Int64(1 + $0 % 1000), "2026-06-01"]
                }
            )
            statements.append(
                Statement(sql: "SELECT \(list) FROM clients WHERE wedding_date = $1::date") {
                    ["2026-06-\(10 + $0 % 18)"]
                }
            )
            statements.append(
                Statement(sql: "SELECT \(list) FROM clients WHERE status = $1 AND budget > $2") { _ in
                    ["lead", Int64(4_990)]
                }
            )
            statements.append(
                Statement(sql: "SELECT \(payment) FROM payments WHERE client_id = $1") { [Int64(1 + $0 * 7)] }
            )
            statements.append(
                Statement(
                    sql: "SELECT \(payment) FROM payments WHERE paid_on BETWEEN $1::date AND $2::date AND method = $3"
                ) { _ in
                    ["2026-03-01", "2026-03-03", "card"]
                }
            )
            statements.append(
                Statement(sql: "SELECT \(payment) FROM payments WHERE amount = $1") { [Int64(100 + $0 % 900)] }
            )
            statements.append(
                Statement(
                    sql:
                        "SELECT \(joined), c.name FROM payments p JOIN clients c ON c.id = p.client_id WHERE c.organization_id = $1",
                    params: organization
                )
            )
            statements.append(
                Statement(
                    sql:
                        "SELECT \(guestLists[index]), g.guest_count FROM guest_lists g WHERE g.guest_count > $1 AND g.client_id < $2"
                ) {
                    [Int64(295), Int64(5_000 + $0)]
                }
            )
        }
        return statements
    }

    static func run(_ arguments: BenchArguments) async throws {
        let optimizer = try arguments.string("optimizer-url")
        let token = try arguments.string("admin-token")
        let samples = arguments.int("samples", default: 20)
        let rounds = arguments.int("rounds", default: 3)
        let pool = PostgresPool(
            name: "bench",
            configuration: try PostgresConfiguration(url: try arguments.string("database-url")),
            logger: Logger(label: "bench")
        )
        defer { Task { await pool.shutdown() } }

        for recommend in [false, true] {
            var times: [Double] = []
            var recommendations = 0
            for sample in 0..<samples {
                let month = 1 + sample % 12
                let body = AnalyzeRequest(
                    sql: clientsQuery,
                    params: [
                        .number(Double(1 + sample * 37 % 1000)), .string("2026-\(month < 10 ? "0" : "")\(month)-01"),
                        .string("2026-\(month < 10 ? "0" : "")\(month)-28"),
                    ],
                    recommend: recommend
                )
                let started = ContinuousClock.now
                let answer = try await send(
                    .POST,
                    optimizer + "/v1/analyze",
                    token: token,
                    body: try JSONEncoder().encode(body)
                )
                times.append((ContinuousClock.now - started) / .milliseconds(1))
                recommendations = try WedSyncJSON.makeDecoder().decode(AnalyzeResponse.self, from: answer)
                    .recommendations.count
            }
            print(
                try json([
                    "benchmark": "optimizer-analyze", "recommend": recommend, "samples": samples,
                    "ms": percentiles(times), "recommendations": recommendations,
                ])
            )
        }

        _ = try await pool.query("SELECT pg_stat_statements_reset()")
        let statements = workload()
        for (index, statement) in statements.enumerated() {
            for call in 0..<3 {
                _ = try await pool.query(PostgresQuery(sql: statement.sql, binds: statement.params(index * 3 + call)))
            }
        }
        var times: [Double] = []
        var last: WorkloadReport?
        for _ in 0..<rounds {
            let started = ContinuousClock.now
            let answer = try await send(.GET, optimizer + "/v1/workload?top=10", token: token, body: nil)
            times.append((ContinuousClock.now - started) / .milliseconds(1))
            last = try WedSyncJSON.makeDecoder().decode(WorkloadReport.self, from: answer)
        }
        print(
            try json([
                "benchmark": "optimizer-workload", "statements": statements.count, "rounds": rounds,
                "ms": percentiles(times),
                "planned": last?.planned ?? 0, "unplannable": last?.unplannable ?? 0,
                "recommendations": (last?.recommendations ?? []).map {
                    "\($0.createStatement) (\(Int(($0.workloadImprovement * 100).rounded()))%, \($0.served.count) statements)"
                },
            ])
        )
    }

    static func send(_ method: HTTPMethod, _ url: String, token: String, body: Data?) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(300))
        let data = Data(try await response.body.collect(upTo: 64 << 20).readableBytesView)
        guard response.status == .ok else {
            throw BenchError("\(method) \(url): \(response.status) \(String(decoding: data, as: UTF8.self))")
        }
        return data
    }

    static func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}
