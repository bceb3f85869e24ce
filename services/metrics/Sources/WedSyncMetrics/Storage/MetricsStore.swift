import Foundation
import WedSyncModels

/// The metrics service's SQLite file: a journal of acknowledged event batches, and the aggregated buckets.
///
/// A batch is acknowledged once its journal row is committed. Its events are folded into in-memory buckets; a
/// flush writes the closed buckets (adding to rows already there) and, in the same transaction, drops the journal
/// rows whose events are all in flushed buckets, recording the boundary and the last batch folded in before it.
/// After a crash, the journal rows left are folded in again: a batch from before the last flush contributes only
/// its events at or after that boundary (the rest are in storage already), a later one contributes all of them.
public final class MetricsStore: Sendable {
    let database: SQLiteDatabase

    public init(path: String, synchronous: SQLiteDatabase.Synchronous = .full) throws {
        database = try SQLiteDatabase(path: path, synchronous: synchronous)
        try database.execute(
            """
            CREATE TABLE IF NOT EXISTS batches (
                id INTEGER PRIMARY KEY AUTOINCREMENT, received_at REAL NOT NULL, max_timestamp REAL NOT NULL, body BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS buckets (
                resolution INTEGER NOT NULL, series TEXT NOT NULL, start INTEGER NOT NULL,
                count INTEGER NOT NULL, errors INTEGER NOT NULL, cache_lookups INTEGER NOT NULL, cache_hits INTEGER NOT NULL,
                durations BLOB NOT NULL, PRIMARY KEY (resolution, start, series)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            """
        )
    }

    /// Commits `batches` to the journal in one transaction; returns their ids, in order.
    func append(_ batches: [(body: [UInt8], maxTimestamp: Double)]) throws -> [Int64] {
        try database.transaction { connection in
            let insert = try connection.prepare("INSERT INTO batches (received_at, max_timestamp, body) VALUES (?, ?, ?) RETURNING id")
            let now = Date().timeIntervalSince1970
            return try batches.map { batch in
                try insert.bind([.real(now), .real(batch.maxTimestamp), .blob(batch.body)])
                guard try insert.step() else { throw SQLiteError(code: 0, message: "no id returned") }
                let id = insert.int(0)
                while try insert.step() {}
                return id
            }
        }
    }

    /// Writes `buckets` (10-second resolution), adding to stored rows, and forgets the journal rows up to
    /// `through` whose events all lie before `boundary`.
    func flush(_ buckets: [(SeriesKey, Int64, SeriesBucket)], boundary: Int64, through: Int64) throws {
        try database.transaction { connection in
            let select = try connection.prepare(
                "SELECT count, errors, cache_lookups, cache_hits, durations FROM buckets WHERE resolution = 10 AND start = ? AND series = ?"
            )
            let upsert = try connection.prepare(
                "INSERT OR REPLACE INTO buckets (resolution, series, start, count, errors, cache_lookups, cache_hits, durations) VALUES (10, ?, ?, ?, ?, ?, ?, ?)"
            )
            for (series, start, bucket) in buckets {
                var merged = bucket
                try select.bind([.integer(start), .text(series.description)])
                if try select.step() {
                    var stored = SeriesBucket()
                    stored.count = Int(select.int(0))
                    stored.errors = Int(select.int(1))
                    stored.cacheLookups = Int(select.int(2))
                    stored.cacheHits = Int(select.int(3))
                    stored.durations = SeriesBucket.decodeDurations(select.blob(4))
                    merged.add(stored)
                }
                try upsert.bind([
                    .text(series.description), .integer(start), .integer(Int64(merged.count)), .integer(Int64(merged.errors)),
                    .integer(Int64(merged.cacheLookups)), .integer(Int64(merged.cacheHits)), .blob(merged.encodedDurations()),
                ])
                while try upsert.step() {}
            }
            try connection.run("DELETE FROM batches WHERE id <= ? AND max_timestamp < ?", [.integer(through), .real(Double(boundary))])
            try connection.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('boundary', ?), ('through', ?)", [.integer(boundary), .integer(through)])
        }
    }

    /// The journal rows not yet wholly in storage, in order, with the boundary each must be folded in from.
    func pendingBatches() throws -> (batches: [(id: Int64, body: [UInt8])], boundary: Int64, through: Int64) {
        try database.read { connection in
            var boundary: Int64 = .min
            var through: Int64 = 0
            let meta = try connection.prepare("SELECT key, value FROM meta")
            while try meta.step() {
                if meta.text(0) == "boundary" { boundary = meta.int(1) }
                if meta.text(0) == "through" { through = meta.int(1) }
            }
            var batches: [(Int64, [UInt8])] = []
            let rows = try connection.prepare("SELECT id, body FROM batches ORDER BY id")
            while try rows.step() { batches.append((rows.int(0), rows.blob(1))) }
            return (batches, boundary, through)
        }
    }

    /// The stored 10-second buckets in `[from, to)`.
    func buckets(from: Int64, to: Int64) throws -> [(SeriesKey, Int64, SeriesBucket)] {
        try database.read { connection in
            let rows = try connection.prepare(
                "SELECT series, start, count, errors, cache_lookups, cache_hits, durations FROM buckets WHERE resolution = 10 AND start >= ? AND start < ?"
            )
            try rows.bind([.integer(from), .integer(to)])
            var result: [(SeriesKey, Int64, SeriesBucket)] = []
            while try rows.step() {
                guard let series = SeriesKey(rows.text(0)) else { continue }
                var bucket = SeriesBucket()
                bucket.count = Int(rows.int(2))
                bucket.errors = Int(rows.int(3))
                bucket.cacheLookups = Int(rows.int(4))
                bucket.cacheHits = Int(rows.int(5))
                bucket.durations = SeriesBucket.decodeDurations(rows.blob(6))
                result.append((series, rows.int(1), bucket))
            }
            return result
        }
    }

    /// Drops buckets older than `before` (retention).
    func prune(before: Int64) throws {
        try database.read { connection in try connection.run("DELETE FROM buckets WHERE resolution = 10 AND start < ?", [.integer(before)]) }
    }

    /// Journal rows waiting (for `/ready` and tests).
    func journalCount() throws -> Int {
        try database.read { connection in
            let rows = try connection.prepare("SELECT count(*) FROM batches")
            return try rows.step() ? Int(rows.int(0)) : 0
        }
    }
}
