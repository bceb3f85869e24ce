import Foundation
import WedSyncModels
import WedSyncPostgres

/// Each table's scans, cache hit ratio and estimated bloat.
///
/// Bloat is estimated as the check_postgres and PgHero queries do: the pages the live rows need (a 24-byte
/// tuple header, the columns' average widths from `pg_stats` weighed by their share of non-null values, a 4-byte
/// line pointer, at the table's fill factor)
/// against the pages the table has. A table never analyzed has no widths, and no estimate.
public struct TableHealthReader: Sendable {
    /// A table of this many rows or more whose scans are mostly sequential is a finding.
    public var largeTableRows = 10_000
    public var sequentialShare = 0.5
    public var minimumSequentialScans = 5
    /// Bloat worth a finding: this share of the table, and this many bytes.
    public var bloatShare = 0.3
    public var minimumBloatBytes = 1 << 20
    /// A table whose heap reads hit the cache less often than this, over at least `minimumBlockReads`.
    public var cacheHitRatio = 0.9
    public var minimumBlockReads = 1_000

    public init() {}

    /// One table's raw figures.
    public struct Figures: Sendable, Equatable {
        public var table: String
        public var liveRows: Int
        public var deadRows: Int
        public var pages: Int
        public var blockSize: Int
        /// The columns' average widths summed; `nil` before ANALYZE.
        public var rowWidth: Double?
        public var fillFactor: Int
        public var sequentialScans: Int
        public var indexScans: Int
        public var rowsReadSequentially: Int
        public var heapHits: Int
        public var heapReads: Int
        public var lastVacuum: Date?
    }

    public func read(on connection: PostgresConnection) async throws -> TableHealthReport {
        let rows = try await connection.query(
            """
            SELECT t.relname, GREATEST(t.n_live_tup, 0)::bigint, t.n_dead_tup::bigint, (pg_relation_size(t.relid) / current_setting('block_size')::int)::bigint,
                current_setting('block_size')::int,
                (SELECT sum((1 - s.null_frac) * s.avg_width)::float8 FROM pg_stats s
                    WHERE s.schemaname = t.schemaname AND s.tablename = t.relname AND NOT s.inherited),
                COALESCE((SELECT option_value::int FROM pg_options_to_table(c.reloptions) WHERE option_name = 'fillfactor'), 100),
                COALESCE(t.seq_scan, 0)::bigint, COALESCE(t.idx_scan, 0)::bigint, COALESCE(t.seq_tup_read, 0)::bigint,
                COALESCE(io.heap_blks_hit, 0)::bigint, COALESCE(io.heap_blks_read, 0)::bigint, GREATEST(t.last_vacuum, t.last_autovacuum)
            FROM pg_stat_user_tables t JOIN pg_class c ON c.oid = t.relid LEFT JOIN pg_statio_user_tables io ON io.relid = t.relid
            ORDER BY pg_relation_size(t.relid) DESC, t.relname LIMIT 500
            """,
            prepared: false
        )
        let figures = try rows.map { row in
            Figures(
                table: try row.decode(String.self, at: 0),
                liveRows: Int(try row.decode(Int64.self, at: 1)),
                deadRows: Int(try row.decode(Int64.self, at: 2)),
                pages: Int(try row.decode(Int64.self, at: 3)),
                blockSize: try row.decode(Int.self, at: 4),
                rowWidth: try row.decode(Double?.self, at: 5),
                fillFactor: try row.decode(Int.self, at: 6),
                sequentialScans: Int(try row.decode(Int64.self, at: 7)),
                indexScans: Int(try row.decode(Int64.self, at: 8)),
                rowsReadSequentially: Int(try row.decode(Int64.self, at: 9)),
                heapHits: Int(try row.decode(Int64.self, at: 10)),
                heapReads: Int(try row.decode(Int64.self, at: 11)),
                lastVacuum: try row.decode(Date?.self, at: 12)
            )
        }
        let hits = figures.reduce(0) { $0 + $1.heapHits }
        let reads = figures.reduce(0) { $0 + $1.heapReads }
        return TableHealthReport(
            tableCacheHitRatio: hits + reads > 0 ? Double(hits) / Double(hits + reads) : nil,
            tables: figures.map(health)
        )
    }

    /// A table's health from its figures.
    public func health(_ figures: Figures) -> TableHealth {
        let bloatPages: Int
        if let width = figures.rowWidth, figures.pages > 0 {
            let tuple = (24 + Int(saturating: width.rounded(.up)) + 7) / 8 * 8 + 4
            let usable = Double(figures.blockSize - 24) * Double(figures.fillFactor) / 100
            let needed = Int(saturating: (Double(figures.liveRows * tuple) / usable).rounded(.up))
            bloatPages = max(0, figures.pages - max(needed, 1))
        } else {
            bloatPages = 0
        }
        let bloatBytes = bloatPages * figures.blockSize
        let bloat = figures.pages > 0 ? Double(bloatPages) / Double(figures.pages) : 0
        let scans = figures.sequentialScans + figures.indexScans
        let share = scans > 0 ? Double(figures.sequentialScans) / Double(scans) : 0
        let blocks = figures.heapHits + figures.heapReads
        let ratio = blocks > 0 ? Double(figures.heapHits) / Double(blocks) : nil
        var findings: [String] = []
        if figures.liveRows >= largeTableRows, figures.sequentialScans >= minimumSequentialScans,
            share > sequentialShare
        {
            findings.append("sequential_scans_dominate")
        }
        if bloat >= bloatShare, bloatBytes >= minimumBloatBytes { findings.append("bloated") }
        if let ratio, blocks >= minimumBlockReads, ratio < cacheHitRatio { findings.append("low_cache_hit_ratio") }
        return TableHealth(
            table: figures.table,
            rows: figures.liveRows,
            sizeBytes: figures.pages * figures.blockSize,
            sequentialScans: figures.sequentialScans,
            indexScans: figures.indexScans,
            rowsReadSequentially: figures.rowsReadSequentially,
            sequentialScanShare: share,
            cacheHitRatio: ratio,
            deadRows: figures.deadRows,
            estimatedBloatBytes: bloatBytes,
            bloatShare: bloat,
            lastVacuum: figures.lastVacuum,
            findings: findings
        )
    }
}
