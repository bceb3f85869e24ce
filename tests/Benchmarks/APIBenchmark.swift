import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import WedSyncAPI
import WedSyncModels
import WedSyncPostgres

/// Benchmarks of the WedSync API, run against a release build serving a seeded database (scripts/bench).
enum APIBenchmark {
    /// `api-clients`: the clients query over `--samples` requests, each for a random organization and a random
    /// three-month window, one at a time; prints the server's time (`Server-Timing` app and db) and the round trip
    /// at p50/p90/p99/max, and the plan of the query for the largest organization (fails on a Seq Scan of clients).
    static func clients(_ arguments: BenchArguments) async throws {
        let logger = Logger(label: "bench")
        let pool = PostgresPool(
            name: "bench",
            configuration: try PostgresConfiguration(url: try arguments.string("database-url")),
            logger: logger
        )
        defer { Task { await pool.shutdown() } }
        let api = try arguments.string("api-url")
        let samples = arguments.int("samples", default: 1_000)
        let organizations = try await pool.query("SELECT max(id) FROM organizations")[0].decode(Int.self, at: 0)
        let (first, last) = try await pool.query("SELECT min(wedding_date), max(wedding_date) FROM clients")[0].decode(
            (CalendarDay, CalendarDay).self
        )

        // The plan, for the largest organization over its busiest three months.
        let busiest = try await pool.query(
            "SELECT date_trunc('month', wedding_date)::date FROM clients WHERE organization_id = 1 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )[0].decode(CalendarDay.self, at: 0)
        let planned = ClientStore.page(organization: 1, from: busiest, to: busiest.adding(days: 91), limit: 51)
        let plan = try await pool.withConnection { connection in
            try await connection.query(
                PostgresQuery(sql: "EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " + planned.sql, binds: []).withBinds(
                    planned
                ),
                prepared: false
            )
        }.map { try $0.decode(String.self, at: 0) }
        let seqScanOnClients = plan.contains { $0.contains("Seq Scan on clients") }

        let database = PostgresDatabase(primary: pool)
        let store = TokenStore(database: database)
        var tokens: [Int: String] = [:]
        for organization in 1...organizations {
            tokens[organization] = try await store.issue(organization: organization, label: "bench")
        }

        var generator = SeedRandom(seed: 20_260_613)
        var app: [Double] = []
        var db: [Double] = []
        var roundTrip: [Double] = []
        var rows = 0
        let span = max(1, last.daysSinceEpoch - first.daysSinceEpoch - 91)
        // A few requests first so every connection and prepared statement exists, as in a warm server.
        for index in 0..<(samples + 50) {
            let organization = Int(generator.next() % UInt64(organizations)) + 1
            let from = first.adding(days: Int(generator.next() % UInt64(span)))
            var request = HTTPClientRequest(url: "\(api)/api/clients?from=\(from)&to=\(from.adding(days: 91))")
            request.headers.add(name: "authorization", value: "Bearer \(tokens[organization]!)")
            let started = ContinuousClock.now
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 64 << 20)
            let elapsed = (ContinuousClock.now - started).milliseconds
            guard response.status == .ok else { throw BenchError("GET /api/clients answered \(response.status.code)") }
            guard index >= 50 else { continue }
            let timing = response.headers.first(name: "server-timing") ?? ""
            app.append(Self.duration(of: "app", in: timing))
            db.append(Self.duration(of: "db", in: timing))
            roundTrip.append(elapsed)
            rows +=
                (try? WedSyncJSON.makeDecoder().decode(ClientPage.self, from: Data(body.readableBytesView)).clients
                    .count) ?? 0
        }
        report([
            "benchmark": "api-clients-query",
            "samples": samples,
            "organizations": organizations,
            "meanRows": Double(rows) / Double(samples),
            "serverMs": percentiles(app),
            "databaseMs": percentiles(db),
            "roundTripMs": percentiles(roundTrip),
            "plan": plan.joined(separator: "\n"),
            "seqScanOnClients": seqScanOnClients,
        ])
        if seqScanOnClients { throw BenchError("the clients query scans clients sequentially") }
    }

    /// `api-export`: streams `/api/exports/guests` in `--format` for organization `--org`, counting rows; prints
    /// rows per second and the serving process's peak resident memory (`VmHWM` of `--pid`).
    static func export(_ arguments: BenchArguments) async throws {
        let logger = Logger(label: "bench")
        let pool = PostgresPool(
            name: "bench",
            configuration: try PostgresConfiguration(url: try arguments.string("database-url")),
            logger: logger
        )
        let organization = arguments.int("org", default: 1)
        let token = try await TokenStore(database: PostgresDatabase(primary: pool)).issue(
            organization: organization,
            label: "bench"
        )
        let expected = try await pool.query("SELECT count(*) FROM guests WHERE organization_id = \(organization)")[0]
            .decode(Int.self, at: 0)
        await pool.shutdown()
        let format = try arguments.string("format")
        let pid = try arguments.string("pid")

        var request = HTTPClientRequest(url: "\(try arguments.string("api-url"))/api/exports/guests?format=\(format)")
        request.headers.add(name: "authorization", value: "Bearer \(token)")
        let started = ContinuousClock.now
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(600))
        var newlines = 0
        var bytes = 0
        for try await chunk in response.body {
            bytes += chunk.readableBytes
            newlines += chunk.readableBytesView.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
        }
        let seconds = (ContinuousClock.now - started).milliseconds / 1000
        let rowsSeen = format == "csv" ? newlines - 1 : newlines
        guard rowsSeen == expected else { throw BenchError("exported \(rowsSeen) rows, expected \(expected)") }
        report([
            "benchmark": "api-export-guests",
            "format": format,
            "rows": rowsSeen,
            "megabytes": Double(bytes) / 1_048_576,
            "seconds": seconds,
            "rowsPerSecond": Int(Double(rowsSeen) / seconds),
            "serverPeakResidentMB": Double(peakResidentKilobytes(pid: pid)) / 1024,
        ])
    }

    /// `dur=` of the `name` metric of a `Server-Timing` value, in milliseconds.
    static func duration(of name: String, in header: String) -> Double {
        for metric in header.split(separator: ",") {
            let parts = metric.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.first == name else { continue }
            for part in parts where part.hasPrefix("dur=") { return Double(part.dropFirst(4)) ?? 0 }
        }
        return 0
    }

    static func peakResidentKilobytes(pid: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        }
        return 0
    }
}

extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

extension PostgresQuery {
    /// This statement with `other`'s parameters.
    func withBinds(_ other: PostgresQuery) -> PostgresQuery {
        var query = self
        query.binds = other.binds
        return query
    }
}
