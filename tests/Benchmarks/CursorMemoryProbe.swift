import Logging
import WedSyncConnectionPool
import WedSyncPostgres

/// Streams many rows through a server-side cursor (or, with `--buffered`, reads them in one result) and reports
/// how much this process's resident memory grew meanwhile.
enum CursorMemoryProbe {
    static func run(_ arguments: BenchArguments) async throws {
        let rows = arguments.int("rows", default: 1_000_000)
        let buffered = arguments.flag("buffered")
        let pool = PostgresPool(
            name: "probe",
            configuration: try PostgresConfiguration(url: try arguments.string("database-url")),
            poolConfiguration: ConnectionPoolConfiguration(minimumConnections: 0, maximumConnections: 1),
            logger: Logger(label: "probe")
        )
        // Warm the connection and the allocator before taking the baseline.
        _ = try await pool.query("SELECT g, md5(g::text) FROM generate_series(1, 1000) g")
        let baseline = residentBytes()
        var peak = baseline
        var count = 0
        var checksum = 0
        let query: PostgresQuery = "SELECT g, md5(g::text) AS digest FROM generate_series(1, \(rows)) g"
        let start = ContinuousClock.now
        if buffered {
            let result = try await pool.query(query)
            for row in result {
                checksum &+= try row.decode(Int.self, at: 0)
                count += 1
            }
            peak = max(peak, residentBytes())
        } else {
            try await pool.withCursor(query, batchSize: 1_000) { stream in
                for try await row in stream {
                    let (number, digest) = try row.decode((Int, String).self)
                    checksum &+= number &+ digest.utf8.count
                    count += 1
                    if count % 10_000 == 0 { peak = max(peak, residentBytes()) }
                }
            }
        }
        let elapsed = ContinuousClock.now - start
        await pool.shutdown()
        report([
            "benchmark": buffered ? "postgres-buffered-rows" : "postgres-cursor-stream",
            "rows": count,
            "checksum": checksum,
            "baselineMB": Double(baseline) / 1_048_576,
            "peakMB": Double(peak) / 1_048_576,
            "rssGrowthMB": Double(peak - baseline) / 1_048_576,
            "rowsPerSecond": Int(Double(count) / (Double(elapsed / .milliseconds(1)) / 1000)),
        ])
    }
}
