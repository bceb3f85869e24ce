import Foundation
import Histogram
import WedSyncModels
import WedSyncServiceKit

/// Answers summaries and series from the stored buckets, reading each stretch of time at the coarsest resolution
/// that covers it exactly (whole hours from the hourly rollups, whole minutes from the minute ones, the rest from
/// 10-second buckets).
public struct MetricsQueries: Sendable {
    let store: MetricsStore
    let aggregator: Aggregator
    let retention: RetentionPolicy

    public init(store: MetricsStore, aggregator: Aggregator, retention: RetentionPolicy = RetentionPolicy()) {
        self.store = store
        self.aggregator = aggregator
        self.retention = retention
    }

    /// The longest range a query may ask for: a year and a month, as the hourly rollups are kept by default.
    public static let longestRange: Int64 = 400 * 86_400
    /// Points one series answer holds at most.
    public static let maximumPoints: Int64 = 2_000

    /// The spelling of a range: a whole number of minutes, hours or days.
    public static let rangeSchema = JSONSchema.text(2...7, pattern: "^[1-9][0-9]{0,5}[mhd]$")
    static let rangeDescription =
        "Minutes, hours or days, like 15m, 1h (the default), 24h or 7d; at most 400 days are read."
    /// Seconds per point of a series: a multiple of 10 up to the longest range.
    static let steps = 10...Int(longestRange)
    /// A route template (or fingerprint), a method and a service, as a query names them.
    static let routeRule = TextRule(1...256)
    static let methodRule = TextRule(1...16)
    static let serviceRule = TextRule(1...100)

    /// `1h`, `24h`, `7d` (any `Nm`, `Nh`, `Nd` of up to six digits), in seconds, at most `longest` (400 days: no
    /// data is kept longer, so a longer range reads the same).
    public static func seconds(of range: String, field: String = "range", longest: Int64 = longestRange)
        throws(ServiceError) -> Int64
    {
        guard let unit = range.last, range.count >= 2, range.count <= 7, range.first != "0",
            range.dropLast().allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(range.dropLast())
        else {
            throw ServiceError.badRequest("\(field): like 1h, 24h or 7d", code: "invalid_parameter")
        }
        let seconds: Int64
        switch unit {
        case "m": seconds = value * 60
        case "h": seconds = value * 3_600
        case "d": seconds = value * 86_400
        default: throw ServiceError.badRequest("\(field): like 1h, 24h or 7d", code: "invalid_parameter")
        }
        return min(seconds, longest)
    }

    /// A stretch of storage to read: the buckets of `resolution` that start in `[from, to)`.
    struct Segment: Equatable {
        var resolution: Int64
        var from: Int64
        var to: Int64
    }

    /// The segments that cover `[from, to)` (multiples of 10 seconds) exactly: whole hours from the hourly rollups,
    /// whole minutes from the minute ones, the rest from 10-second buckets. A piece older than a resolution's
    /// retention is read from the next coarser resolution instead, rounded out to its buckets.
    static func plan(from: Int64, to: Int64, now: Int64, retention: RetentionPolicy) -> [Segment] {
        let levels = Array(Aggregator.resolutions.reversed())
        var segments: [Segment] = []
        func cover(_ from: Int64, _ to: Int64, _ level: Int) {
            guard from < to else { return }
            let resolution = levels[level]
            guard level + 1 < levels.count else {
                segments.append(Segment(resolution: resolution, from: from, to: to))
                return
            }
            let first = Aggregator.start(of: from + resolution - 1, resolution: resolution)
            let last = Aggregator.start(of: to, resolution: resolution)
            if first < last { segments.append(Segment(resolution: resolution, from: first, to: last)) }
            for (pieceFrom, pieceTo) in first < last ? [(from, first), (last, to)] : [(from, to)]
            where pieceFrom < pieceTo {
                if retention.holds(levels[level + 1], start: pieceFrom, now: now) {
                    cover(pieceFrom, pieceTo, level + 1)
                } else {
                    segments.append(
                        Segment(
                            resolution: resolution,
                            from: Aggregator.start(of: pieceFrom, resolution: resolution),
                            to: Aggregator.start(of: pieceTo + resolution - 1, resolution: resolution)
                        )
                    )
                }
            }
        }
        cover(from, to, 0)
        return segments
    }

    public func summary(range: String, now: Date = Date()) throws -> MetricsSummary {
        var summary = try summary(seconds: try Self.seconds(of: range), now: now)
        summary.range = range
        return summary
    }

    /// Every series over the last `seconds` (whole buckets) before `now`.
    public func summary(seconds: Int64, now: Date = Date()) throws -> MetricsSummary {
        let range = "\(seconds)s"
        let (merged, from, to) = try merged(seconds: seconds, now: now)
        let series = merged.map { key, bucket in Self.summary(key, bucket, seconds: Double(seconds)) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : ($0.route, $0.method) < ($1.route, $1.method) }
        return MetricsSummary(
            range: range,
            from: Date(timeIntervalSince1970: Double(from)),
            to: Date(timeIntervalSince1970: Double(to)),
            series: series,
            cacheTiers: CacheTierKey.figures(merged, seconds: Double(seconds))
        )
    }

    /// `[from, to)` made a window to read: at least the 10 s from `from`, at most the last 400 days to `to`.
    public static func window(from: Int64, to: Int64) -> (from: Int64, to: Int64) {
        let end = max(to, from + 1)
        return (max(from, end - longestRange), end)
    }

    /// Every series in `[from, to)` (Unix seconds, rounded out to whole 10-second buckets): a load test's own window,
    /// so its counts and percentiles are its requests' alone. `range` says the window's length.
    public func summary(from: Int64, to: Int64, now: Date = Date()) throws -> MetricsSummary {
        let start = Aggregator.start(of: from, resolution: Aggregator.bucketSeconds)
        let end = Aggregator.start(of: to + Aggregator.bucketSeconds - 1, resolution: Aggregator.bucketSeconds)
        let seconds = max(end - start, Aggregator.bucketSeconds)
        let merged = try merged(from: start, to: start + seconds, now: now)
        let series = merged.map { key, bucket in Self.summary(key, bucket, seconds: Double(seconds)) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : ($0.route, $0.method) < ($1.route, $1.method) }
        return MetricsSummary(
            range: "\(seconds)s",
            from: Date(timeIntervalSince1970: Double(start)),
            to: Date(timeIntervalSince1970: Double(start + seconds)),
            series: series,
            cacheTiers: CacheTierKey.figures(merged, seconds: Double(seconds))
        )
    }

    /// Every series' buckets over the last `seconds` (whole 10-second buckets, the current one included) before
    /// `now`, merged; with the range's bounds.
    public func merged(seconds: Int64, now: Date = Date()) throws -> (
        series: [SeriesKey: SeriesBucket], from: Int64, to: Int64
    ) {
        let to = Aggregator.bucketStart(now) + Aggregator.bucketSeconds
        let from = to - seconds
        return (try merged(from: from, to: to, now: now), from, to)
    }

    /// Every series' buckets in `[from, to)` (seconds, multiples of 10), merged as they are read (a long range
    /// never holds all its rows at once).
    public func merged(from: Int64, to: Int64, now: Date = Date()) throws -> [SeriesKey: SeriesBucket] {
        var merged: [SeriesKey: SeriesBucket] = [:]
        for segment in Self.plan(from: from, to: to, now: Int64(now.timeIntervalSince1970), retention: retention) {
            try store.visitBuckets(resolution: segment.resolution, from: segment.from, to: segment.to) {
                series,
                _,
                bucket in
                merged[series, default: SeriesBucket()].add(bucket)
            }
        }
        return merged
    }

    static func summary(_ key: SeriesKey, _ bucket: SeriesBucket, seconds: Double) -> SeriesSummary {
        SeriesSummary(
            kind: key.kind,
            route: key.name,
            method: key.method,
            count: bucket.count,
            ratePerSecond: Double(bucket.count) / seconds,
            p50Ms: bucket.percentileMs(50),
            p95Ms: bucket.percentileMs(95),
            p99Ms: bucket.percentileMs(99),
            maxMs: bucket.count == 0 ? 0 : Double(bucket.durations.max) / 1000,
            errorRate: bucket.count == 0 ? 0 : Double(bucket.errors) / Double(bucket.count),
            cacheHitRatio: bucket.cacheLookups == 0 ? nil : Double(bucket.cacheHits) / Double(bucket.cacheLookups)
        )
    }

    /// The API routes of the range by p95, slowest first.
    public func slowEndpoints(range: String, limit: Int, now: Date = Date()) throws -> [SeriesSummary] {
        Array(
            try summary(range: range, now: now).series.filter { $0.kind == "api" }.sorted { $0.p95Ms > $1.p95Ms }
                .prefix(limit)
        )
    }

    static let metrics = ["p50", "p95", "p99", "rate", "error_rate", "cache_hit_ratio", "count"]

    /// One metric of the series of `route` (and `method`, when given), in steps.
    public func series(metric: String, route: String, method: String?, range: String, step: Int64, now: Date = Date())
        throws -> MetricSeries
    {
        guard Self.metrics.contains(metric) else {
            throw ServiceError.badRequest(
                "metric: one of \(Self.metrics.joined(separator: ", "))",
                code: "invalid_parameter"
            )
        }
        let seconds = try Self.seconds(of: range)
        guard step >= Aggregator.bucketSeconds, step <= Self.longestRange, step % Aggregator.bucketSeconds == 0 else {
            throw ServiceError.badRequest("step: a multiple of 10 seconds, at most 400 days", code: "invalid_parameter")
        }
        // As Grafana does: a step longer than the range is the range (one point), and one that would give more than
        // 2,000 points is made longer (the response says which step it used).
        let longest = max(Aggregator.bucketSeconds, seconds / Aggregator.bucketSeconds * Aggregator.bucketSeconds)
        let shortest =
            (seconds + Self.maximumPoints * Aggregator.bucketSeconds - 1)
            / (Self.maximumPoints * Aggregator.bucketSeconds) * Aggregator.bucketSeconds
        let step = min(longest, max(step, shortest))
        // Points at multiples of the step (as Prometheus puts them), each read at the coarsest resolution that
        // divides the step and is still kept that far back.
        let to = Aggregator.start(
            of: Aggregator.bucketStart(now) + Aggregator.bucketSeconds + step - 1,
            resolution: step
        )
        let from = to - (seconds + step - 1) / step * step
        let nowSeconds = Int64(now.timeIntervalSince1970)
        // Without one that divides the step so far back, the coarsest still kept: each of its buckets counts in the
        // step it starts in, rather than the step showing nothing.
        let resolution =
            Aggregator.resolutions.reversed().first {
                step % $0 == 0 && retention.holds($0, start: from, now: nowSeconds)
            }
            ?? Aggregator.resolutions.reversed().first { retention.holds($0, start: from, now: nowSeconds) }
            ?? Aggregator.resolutions.last!
        var steps: [Int64: SeriesBucket] = [:]
        for (series, start, bucket) in try store.buckets(resolution: resolution, from: from, to: to)
        where series.kind == "api" && series.name == route && (method == nil || series.method == method) {
            steps[from + (start - from) / step * step, default: SeriesBucket()].add(bucket)
        }
        let points = stride(from: from, to: to, by: Int(step)).map { start -> SeriesPoint in
            guard let bucket = steps[start], bucket.count > 0 else {
                return SeriesPoint(
                    start: Date(timeIntervalSince1970: Double(start)),
                    value: metric == "count" || metric == "rate" ? 0 : nil,
                    count: 0
                )
            }
            let value = bucket.value(of: metric, seconds: Double(step))
            return SeriesPoint(start: Date(timeIntervalSince1970: Double(start)), value: value, count: bucket.count)
        }
        return MetricSeries(metric: metric, route: route, stepSeconds: Int(step), points: points)
    }
}
