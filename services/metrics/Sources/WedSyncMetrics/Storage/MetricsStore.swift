import Foundation
import WedSyncModels

/// The metrics service's SQLite file: the aggregated buckets, one row per resolution (10 s, 1 min, 1 h), series
/// and bucket.
///
/// A batch is acknowledged once the buckets it touched are committed with its events in them, so a crash loses
/// nothing acknowledged and a restart has nothing to replay.
public final class MetricsStore: Sendable {
    let database: SQLiteDatabase

    public init(path: String, synchronous: SQLiteDatabase.Synchronous = .full) throws {
        database = try SQLiteDatabase(path: path, synchronous: synchronous)
        try database.execute(
            """
            CREATE TABLE IF NOT EXISTS buckets (
                resolution INTEGER NOT NULL, series TEXT NOT NULL, start INTEGER NOT NULL,
                count INTEGER NOT NULL, errors INTEGER NOT NULL, cache_lookups INTEGER NOT NULL, cache_hits INTEGER NOT NULL,
                durations BLOB NOT NULL, PRIMARY KEY (resolution, start, series)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS gauges (
                resolution INTEGER NOT NULL, series TEXT NOT NULL, start INTEGER NOT NULL,
                count INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL,
                PRIMARY KEY (resolution, start, series)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS releases (at REAL NOT NULL, version TEXT NOT NULL, service TEXT);
            CREATE INDEX IF NOT EXISTS releases_at ON releases (at);
            """
        )
        try migrate()
    }

    /// The schema's version (`PRAGMA user_version`): 2 since the rollups.
    static let schemaVersion: Int64 = 2

    /// Brings a file of an older version up to date: version 1 kept only 10-second buckets, so their 1-minute and
    /// 1-hour rollups are written from them, an hour at a time, before the service takes events.
    func migrate() throws {
        let version = try database.read { connection -> Int64 in
            let row = try connection.prepare("PRAGMA user_version")
            return try row.step() ? row.int(0) : 0
        }
        guard version < Self.schemaVersion else { return }
        let range = try database.read { connection -> (Int64, Int64)? in
            let row = try connection.prepare(
                "SELECT MIN(start), MAX(start), (SELECT COUNT(*) FROM buckets WHERE resolution > 10) FROM buckets WHERE resolution = 10"
            )
            guard try row.step(), !row.isNull(0), row.int(2) == 0 else { return nil }
            return (row.int(0), row.int(1))
        }
        if let (low, high) = range {
            for hour in stride(from: Aggregator.start(of: low, resolution: 3_600), through: high, by: 3_600) {
                var rollups: [Aggregator.BucketKey: SeriesBucket] = [:]
                for (series, start, bucket) in try buckets(resolution: 10, from: hour, to: hour + 3_600) {
                    for resolution in Aggregator.resolutions.dropFirst() {
                        rollups[
                            Aggregator.BucketKey(
                                series: series,
                                start: Aggregator.start(of: start, resolution: resolution),
                                resolution: resolution
                            ),
                            default: SeriesBucket()
                        ]
                        .add(bucket)
                    }
                }
                _ = try add(rollups) { _ in nil }
            }
        }
        try database.execute("PRAGMA user_version = \(Self.schemaVersion)")
    }

    /// Adds gauge samples (system figures, scraped pool use) to their buckets at every resolution, in one
    /// transaction.
    func addGauges(_ samples: [GaugeSample]) throws {
        guard !samples.isEmpty else { return }
        try database.transaction { connection in try Self.upsert(samples, connection) }
    }

    private static func upsert(_ samples: [GaugeSample], _ connection: SQLiteDatabase.Connection) throws {
        guard !samples.isEmpty else { return }
        let upsert = try connection.prepare(
            """
            INSERT INTO gauges (resolution, series, start, count, sum, min, max, last) VALUES (?, ?, ?, 1, ?, ?, ?, ?)
            ON CONFLICT (resolution, start, series) DO UPDATE SET count = count + 1, sum = sum + excluded.sum,
                min = MIN(min, excluded.min), max = MAX(max, excluded.max), last = excluded.last
            """
        )
        for sample in samples.sorted(by: { $0.at < $1.at }) {
            let seconds = Int64(sample.at.timeIntervalSince1970.rounded(.down))
            for resolution in Aggregator.resolutions {
                try upsert.bind([
                    .integer(resolution), .text(sample.series),
                    .integer(Aggregator.start(of: seconds, resolution: resolution)), .real(sample.value),
                    .real(sample.value), .real(sample.value), .real(sample.value),
                ])
                while try upsert.step() {}
            }
        }
    }

    /// Every gauge series' mean, maximum and last value over the 10-second buckets in `[from, to)`.
    func gauges(from: Int64, to: Int64, prefix: String = "") throws -> [String: GaugeSummary] {
        try database.read { connection in
            let rows = try connection.prepare(
                """
                SELECT series, SUM(sum), SUM(count), MAX(max), MIN(min),
                    (SELECT latest.last FROM gauges latest WHERE latest.resolution = 10 AND latest.series = gauges.series AND latest.start < ?
                     ORDER BY latest.start DESC LIMIT 1)
                FROM gauges WHERE resolution = 10 AND start >= ? AND start < ? AND series >= ? AND series < ? GROUP BY series
                """
            )
            try rows.bind([.integer(to), .integer(from), .integer(to), .text(prefix), .text(prefix + "\u{10FFFF}")])
            var result: [String: GaugeSummary] = [:]
            while try rows.step() {
                let count = rows.double(2)
                guard count > 0 else { continue }
                result[rows.text(0)] = GaugeSummary(
                    mean: rows.double(1) / count,
                    max: rows.double(3),
                    min: rows.double(4),
                    last: rows.double(5)
                )
            }
            return result
        }
    }

    /// Every gauge series stored since `since` (by the hourly rollups).
    func gaugeSeries(since: Int64) throws -> [String] {
        try database.read { connection in
            let rows = try connection.prepare(
                "SELECT DISTINCT series FROM gauges WHERE resolution = 3600 AND start >= ?"
            )
            try rows.bind([.integer(since)])
            var result: [String] = []
            while try rows.step() { result.append(rows.text(0)) }
            return result
        }
    }

    /// Drops the gauge buckets of `resolution` that start before `before`.
    func pruneGauges(resolution: Int64, before: Int64) throws {
        try database.transaction { connection in
            try connection.run(
                "DELETE FROM gauges WHERE resolution = ? AND start < ?",
                [.integer(resolution), .integer(before)]
            )
        }
    }

    /// Records a release marker.
    func addRelease(_ marker: ReleaseMarker) throws {
        try database.transaction { connection in
            try connection.run(
                "INSERT INTO releases (at, version, service) VALUES (?, ?, ?)",
                [
                    .real(marker.at.timeIntervalSince1970), .text(marker.version),
                    marker.service.map { .text($0) } ?? .null,
                ]
            )
        }
    }

    /// The latest release markers first (of `service`, or of any, when `nil`), at or before `before`.
    func releases(service: String? = nil, before: Date = .distantFuture, limit: Int = 50) throws -> [ReleaseMarker] {
        try database.read { connection in
            let rows = try connection.prepare(
                "SELECT at, version, service FROM releases WHERE at <= ? AND (? IS NULL OR service = ?) ORDER BY at DESC LIMIT ?"
            )
            let filter: SQLiteValue = service.map { .text($0) } ?? .null
            try rows.bind([.real(before.timeIntervalSince1970), filter, filter, .integer(Int64(limit))])
            var markers: [ReleaseMarker] = []
            while try rows.step() {
                markers.append(
                    ReleaseMarker(
                        version: rows.text(1),
                        service: rows.isNull(2) ? nil : rows.text(2),
                        at: Date(timeIntervalSince1970: rows.double(0))
                    )
                )
            }
            return markers
        }
    }

    /// Adds `deltas` to their buckets (taking each bucket from `held` when this process holds it, else from
    /// storage) and writes the results in one transaction; returns them.
    func add(
        _ deltas: [Aggregator.BucketKey: SeriesBucket],
        gauges: [GaugeSample] = [],
        held: (Aggregator.BucketKey) -> SeriesBucket?
    ) throws -> [(Aggregator.BucketKey, SeriesBucket)] {
        try database.transaction { connection in
            try Self.upsert(gauges, connection)
            let select = try connection.prepare(
                "SELECT count, errors, cache_lookups, cache_hits, durations FROM buckets WHERE resolution = ? AND start = ? AND series = ?"
            )
            let upsert = try connection.prepare(
                "INSERT OR REPLACE INTO buckets (resolution, series, start, count, errors, cache_lookups, cache_hits, durations) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            )
            var written: [(Aggregator.BucketKey, SeriesBucket)] = []
            for (key, delta) in deltas {
                var bucket: SeriesBucket
                if let current = held(key) {
                    bucket = current
                } else {
                    bucket = SeriesBucket()
                    try select.bind([.integer(key.resolution), .integer(key.start), .text(key.series.description)])
                    if try select.step() { bucket = Self.bucket(from: select, offset: 0) }
                }
                bucket.add(delta)
                try upsert.bind([
                    .integer(key.resolution), .text(key.series.description), .integer(key.start),
                    .integer(Int64(bucket.count)), .integer(Int64(bucket.errors)),
                    .integer(Int64(bucket.cacheLookups)), .integer(Int64(bucket.cacheHits)),
                    .blob(bucket.encodedDurations()),
                ])
                while try upsert.step() {}
                written.append((key, bucket))
            }
            return written
        }
    }

    static func bucket(from row: Statement, offset: Int32) -> SeriesBucket {
        var bucket = SeriesBucket()
        bucket.count = Int(row.int(offset))
        bucket.errors = Int(row.int(offset + 1))
        bucket.cacheLookups = Int(row.int(offset + 2))
        bucket.cacheHits = Int(row.int(offset + 3))
        bucket.durations = SeriesBucket.decodeDurations(row.blob(offset + 4))
        return bucket
    }

    /// The stored buckets of `resolution` seconds that start in `[from, to)`.
    func buckets(resolution: Int64 = Aggregator.bucketSeconds, from: Int64, to: Int64) throws -> [(
        SeriesKey, Int64, SeriesBucket
    )] {
        var result: [(SeriesKey, Int64, SeriesBucket)] = []
        try visitBuckets(resolution: resolution, from: from, to: to) { result.append(($0, $1, $2)) }
        return result
    }

    /// Hands each stored bucket of `resolution` seconds that starts in `[from, to)` to `visit`, as it is read.
    func visitBuckets(
        resolution: Int64,
        from: Int64,
        to: Int64,
        _ visit: (SeriesKey, Int64, SeriesBucket) throws -> Void
    ) throws {
        try database.read { connection in
            let rows = try connection.prepare(
                "SELECT series, start, count, errors, cache_lookups, cache_hits, durations FROM buckets WHERE resolution = ? AND start >= ? AND start < ?"
            )
            try rows.bind([.integer(resolution), .integer(from), .integer(to)])
            while try rows.step() {
                guard let series = SeriesKey(rows.text(0)) else { continue }
                try visit(series, rows.int(1), Self.bucket(from: rows, offset: 2))
            }
        }
    }

    /// The request counts of the buckets of `resolution` that start in `[from, to)`, without their histograms.
    func counts(resolution: Int64, kind: String, from: Int64, to: Int64) throws -> [(SeriesKey, Int64, Int)] {
        try database.read { connection in
            let rows = try connection.prepare(
                "SELECT series, start, count FROM buckets WHERE resolution = ? AND start >= ? AND start < ? AND series >= ? AND series < ?"
            )
            try rows.bind([.integer(resolution), .integer(from), .integer(to), .text(kind + "|"), .text(kind + "}")])
            var result: [(SeriesKey, Int64, Int)] = []
            while try rows.step() {
                guard let series = SeriesKey(rows.text(0)) else { continue }
                result.append((series, rows.int(1), Int(rows.int(2))))
            }
            return result
        }
    }

    /// Every series stored since `since` (by the hourly rollups).
    func series(since: Int64) throws -> [SeriesKey] {
        try database.read { connection in
            let rows = try connection.prepare(
                "SELECT DISTINCT series FROM buckets WHERE resolution = 3600 AND start >= ?"
            )
            try rows.bind([.integer(since)])
            var result: [SeriesKey] = []
            while try rows.step() { if let key = SeriesKey(rows.text(0)) { result.append(key) } }
            return result
        }
    }

    /// Drops the buckets of `resolution` that start before `before` (retention).
    func prune(resolution: Int64, before: Int64) throws {
        try database.transaction { connection in
            try connection.run(
                "DELETE FROM buckets WHERE resolution = ? AND start < ?",
                [.integer(resolution), .integer(before)]
            )
        }
    }
}
