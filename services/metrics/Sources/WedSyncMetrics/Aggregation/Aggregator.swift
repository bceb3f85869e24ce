import Foundation
import Synchronization
import WedSyncModels

/// Folds events into 10-second buckets per series, in memory until ``takeClosed(before:)`` hands them to storage.
/// The number of series is bounded: events of series beyond ``maximumSeries`` count under one `other` series.
public final class Aggregator: Sendable {
    public static let bucketSeconds: Int64 = 10
    public let maximumSeries: Int

    struct BucketKey: Hashable {
        var series: SeriesKey
        var start: Int64
    }

    private struct State {
        var buckets: [BucketKey: SeriesBucket] = [:]
        var known: Set<SeriesKey> = []
    }

    private let state = Mutex(State())

    public init(maximumSeries: Int = 10_000) {
        self.maximumSeries = maximumSeries
    }

    /// The bucket start of `date`: seconds since 1970, a multiple of ``bucketSeconds``.
    public static func bucketStart(_ date: Date) -> Int64 {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        return seconds - ((seconds % bucketSeconds) + bucketSeconds) % bucketSeconds
    }

    /// The series and sample of an event with a duration; `nil` for system samples.
    static func sample(of event: MetricEvent) -> (SeriesKey, durationMs: Double, failed: Bool, cacheHit: Bool?)? {
        switch event {
        case .apiCall(let call):
            let hit: Bool? = switch call.cache {
            case .hit?, .stale?, .revalidated?: true
            case .miss?: false
            case .bypass?, nil: nil
            }
            return (SeriesKey(kind: "api", name: call.route, method: call.method), call.durationMs, call.status >= 500, hit)
        case .databaseQuery(let query):
            return (SeriesKey(kind: "db", name: query.fingerprint, method: ""), query.durationMs, false, nil)
        case .cacheOperation(let operation):
            return (SeriesKey(kind: "cache", name: "\(operation.namespace)/\(operation.tier)", method: operation.operation.rawValue), operation.durationMs, false, operation.hit)
        case .systemSample:
            return nil
        }
    }

    /// Adds `events` (those at or after `notBefore`, seconds since 1970, when given).
    public func add(_ events: [MetricEvent], notBefore: Int64? = nil) {
        state.withLock { state in
            for event in events {
                guard let (series, duration, failed, hit) = Self.sample(of: event) else { continue }
                let start = Self.bucketStart(event.timestamp)
                if let notBefore, start < notBefore { continue }
                var key = series
                if !state.known.contains(series) {
                    if state.known.count >= maximumSeries {
                        key = SeriesKey(kind: series.kind, name: "other", method: "")
                    } else {
                        state.known.insert(series)
                    }
                }
                state.buckets[BucketKey(series: key, start: start), default: SeriesBucket()].record(durationMs: duration, failed: failed, cacheHit: hit)
            }
        }
    }

    /// Removes and returns every bucket that starts before `boundary`.
    func takeClosed(before boundary: Int64) -> [(SeriesKey, Int64, SeriesBucket)] {
        state.withLock { state in
            var closed: [(SeriesKey, Int64, SeriesBucket)] = []
            for (key, bucket) in state.buckets where key.start < boundary {
                closed.append((key.series, key.start, bucket))
            }
            for (series, start, _) in closed { state.buckets[BucketKey(series: series, start: start)] = nil }
            return closed
        }
    }

    /// Puts buckets back (their flush failed), adding to whatever arrived meanwhile.
    func restore(_ buckets: [(SeriesKey, Int64, SeriesBucket)]) {
        state.withLock { state in
            for (series, start, bucket) in buckets { state.buckets[BucketKey(series: series, start: start), default: SeriesBucket()].add(bucket) }
        }
    }

    /// Copies of the buckets in `[from, to)` still in memory.
    func open(from: Int64, to: Int64) -> [(SeriesKey, Int64, SeriesBucket)] {
        state.withLock { state in
            state.buckets.compactMap { key, bucket in (key.start >= from && key.start < to) ? (key.series, key.start, bucket) : nil }
        }
    }

    /// Records that `series` exists (from storage, after a restart).
    func know(_ series: SeriesKey) {
        state.withLock { state in
            if state.known.count < maximumSeries { state.known.insert(series) }
        }
    }
}
