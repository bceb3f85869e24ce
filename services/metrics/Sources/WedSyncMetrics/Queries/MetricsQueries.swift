import Foundation
import Histogram
import WedSyncModels
import WedSyncServiceKit

/// Answers summaries and series from stored buckets plus those still in memory.
public struct MetricsQueries: Sendable {
    let store: MetricsStore
    let aggregator: Aggregator

    public init(store: MetricsStore, aggregator: Aggregator) {
        self.store = store
        self.aggregator = aggregator
    }

    /// `1h`, `24h`, `7d` (and any `Nm`, `Nh`, `Nd` up to 7 days), in seconds.
    public static func seconds(of range: String) throws(ServiceError) -> Int64 {
        guard let unit = range.last, let value = Int64(range.dropLast()), value > 0, value <= 7 * 86_400 else {
            throw ServiceError.badRequest("range: like 1h, 24h or 7d", code: "invalid_parameter")
        }
        let seconds: Int64
        switch unit {
        case "m": seconds = value * 60
        case "h": seconds = value * 3_600
        case "d": seconds = value * 86_400
        default: throw ServiceError.badRequest("range: like 1h, 24h or 7d", code: "invalid_parameter")
        }
        guard seconds <= 7 * 86_400 else { throw ServiceError.badRequest("range: at most 7d", code: "invalid_parameter") }
        return seconds
    }

    /// Every bucket in `[from, to)` (storage holds every acknowledged event).
    func buckets(from: Int64, to: Int64) throws -> [(SeriesKey, Int64, SeriesBucket)] {
        try store.buckets(from: from, to: to)
    }

    public func summary(range: String, now: Date = Date()) throws -> MetricsSummary {
        var summary = try summary(seconds: try Self.seconds(of: range), now: now)
        summary.range = range
        return summary
    }

    /// Every series over the last `seconds` (whole buckets) before `now`.
    public func summary(seconds: Int64, now: Date = Date()) throws -> MetricsSummary {
        let range = "\(seconds)s"
        let to = Aggregator.bucketStart(now) + Aggregator.bucketSeconds
        let from = to - seconds
        var merged: [SeriesKey: SeriesBucket] = [:]
        for (series, _, bucket) in try buckets(from: from, to: to) { merged[series, default: SeriesBucket()].add(bucket) }
        let series = merged.map { key, bucket in Self.summary(key, bucket, seconds: Double(seconds)) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : ($0.route, $0.method) < ($1.route, $1.method) }
        return MetricsSummary(range: range, from: Date(timeIntervalSince1970: Double(from)), to: Date(timeIntervalSince1970: Double(to)), series: series)
    }

    static func summary(_ key: SeriesKey, _ bucket: SeriesBucket, seconds: Double) -> SeriesSummary {
        SeriesSummary(
            kind: key.kind, route: key.name, method: key.method, count: bucket.count, ratePerSecond: Double(bucket.count) / seconds,
            p50Ms: bucket.percentileMs(50), p95Ms: bucket.percentileMs(95), p99Ms: bucket.percentileMs(99),
            maxMs: bucket.count == 0 ? 0 : Double(bucket.durations.max) / 1000,
            errorRate: bucket.count == 0 ? 0 : Double(bucket.errors) / Double(bucket.count),
            cacheHitRatio: bucket.cacheLookups == 0 ? nil : Double(bucket.cacheHits) / Double(bucket.cacheLookups)
        )
    }

    /// The API routes of the range by p95, slowest first.
    public func slowEndpoints(range: String, limit: Int, now: Date = Date()) throws -> [SeriesSummary] {
        Array(try summary(range: range, now: now).series.filter { $0.kind == "api" }.sorted { $0.p95Ms > $1.p95Ms }.prefix(limit))
    }

    static let metrics = ["p50", "p95", "p99", "rate", "error_rate", "cache_hit_ratio", "count"]

    /// One metric of the series of `route` (and `method`, when given), in steps.
    public func series(metric: String, route: String, method: String?, range: String, step: Int64, now: Date = Date()) throws -> MetricSeries {
        guard Self.metrics.contains(metric) else {
            throw ServiceError.badRequest("metric: one of \(Self.metrics.joined(separator: ", "))", code: "invalid_parameter")
        }
        let seconds = try Self.seconds(of: range)
        guard step >= Aggregator.bucketSeconds, step % Aggregator.bucketSeconds == 0, seconds / step <= 2_000 else {
            throw ServiceError.badRequest("step: a multiple of 10 seconds, at most 2000 points in the range", code: "invalid_parameter")
        }
        let to = Aggregator.bucketStart(now) + Aggregator.bucketSeconds
        let from = to - seconds
        var steps: [Int64: SeriesBucket] = [:]
        for (series, start, bucket) in try buckets(from: from, to: to) where series.kind == "api" && series.name == route && (method == nil || series.method == method) {
            steps[from + (start - from) / step * step, default: SeriesBucket()].add(bucket)
        }
        let points = stride(from: from, to: to, by: Int(step)).map { start -> SeriesPoint in
            guard let bucket = steps[start], bucket.count > 0 else {
                return SeriesPoint(start: Date(timeIntervalSince1970: Double(start)), value: metric == "count" || metric == "rate" ? 0 : nil, count: 0)
            }
            let value: Double? = switch metric {
            case "p50": bucket.percentileMs(50)
            case "p95": bucket.percentileMs(95)
            case "p99": bucket.percentileMs(99)
            case "rate": Double(bucket.count) / Double(step)
            case "error_rate": Double(bucket.errors) / Double(bucket.count)
            case "cache_hit_ratio": bucket.cacheLookups == 0 ? nil : Double(bucket.cacheHits) / Double(bucket.cacheLookups)
            default: Double(bucket.count)
            }
            return SeriesPoint(start: Date(timeIntervalSince1970: Double(start)), value: value, count: bucket.count)
        }
        return MetricSeries(metric: metric, route: route, stepSeconds: Int(step), points: points)
    }
}
