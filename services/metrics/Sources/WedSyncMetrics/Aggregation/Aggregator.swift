import Foundation
import Synchronization
import WedSyncModels

/// Folds events into 10-second buckets per series, rolled up into 1-minute and 1-hour buckets. The ingestor adds
/// each group of batches to the buckets it touches, at every resolution, and writes those buckets whole in the
/// commit that acknowledges the batches (so a rollup is never behind what was acknowledged, late events included);
/// recent buckets stay here so a commit need not read them back. The number of series is bounded: events of series beyond ``maximumSeries``
/// count under one `other` series per kind.
public final class Aggregator: Sendable {
    public static let bucketSeconds: Int64 = 10
    /// The resolutions kept, in seconds, finest first.
    public static let resolutions: [Int64] = [10, 60, 3_600]
    public let maximumSeries: Int

    public struct BucketKey: Hashable, Sendable {
        public var series: SeriesKey
        public var start: Int64
        /// The bucket's length in seconds, one of ``Aggregator/resolutions``.
        public var resolution: Int64 = Aggregator.bucketSeconds
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
            return (
                SeriesKey(kind: "api", name: call.route, method: call.method), call.durationMs, call.status >= 500,
                isHit(call.cache)
            )
        case .databaseQuery(let query):
            return (SeriesKey(kind: "db", name: query.fingerprint, method: ""), query.durationMs, false, nil)
        case .cacheOperation(let operation):
            return (
                SeriesKey(
                    kind: "cache",
                    name: "\(operation.namespace)/\(operation.tier)",
                    method: operation.operation.rawValue
                ), operation.durationMs, false, operation.hit
            )
        case .systemSample, .finding, .apiCallSummary:
            return nil
        }
    }

    /// Whether a request's cache result counts as a lookup that hit, one that missed, or no lookup.
    static func isHit(_ cache: CacheResult?) -> Bool? {
        switch cache {
        case .hit?, .stale?, .revalidated?: true
        case .miss?: false
        case .bypass?, nil: nil
        }
    }

    /// The tier series a summary of cache lookups adds to (`cache` series named `namespace/tier`, method `get`):
    /// the tier that answered counts the calls and their durations, and a hit for each; every tier a lookup tried
    /// before it counts a lookup that missed. So a tier's `cache_hit_ratio` is the share of the lookups that reached
    /// it which it answered (L2's is of L1's misses), and its percentiles are those of the calls it answered;
    /// `origin` has calls and durations, never lookups.
    static func tierDeltas(of summary: APICallSummaryEvent) -> [(SeriesKey, SeriesBucket)] {
        guard let tier = summary.tier, let namespace = summary.namespace else { return [] }
        let failed = summary.statusClass == 5
        var result: [(SeriesKey, SeriesBucket)] = []
        for tried in APICallSummaryEvent.Tier.allCases {
            let key = SeriesKey(kind: "cache", name: "\(namespace)/\(tried.rawValue)", method: "get")
            var bucket = SeriesBucket()
            if tried == tier {
                for pair in summary.durationsUs where pair.count == 2 {
                    bucket.record(
                        microseconds: UInt64(pair[0]),
                        calls: pair[1],
                        failed: failed,
                        cacheHit: tier == .origin ? nil : true
                    )
                }
                result.append((key, bucket))
                break
            }
            bucket.cacheLookups = summary.count
            result.append((key, bucket))
        }
        return result
    }

    /// What `events` add to each bucket they fall in (nothing is changed here yet).
    public func deltas(of events: [MetricEvent]) -> [BucketKey: SeriesBucket] {
        var deltas: [BucketKey: SeriesBucket] = [:]
        var series: [SeriesKey: SeriesKey] = [:]
        for event in events {
            if case .apiCallSummary(let summary) = event {
                // The calls a sender aggregated, into the bucket they would have reached one by one.
                let key = SeriesKey(kind: "api", name: summary.route, method: summary.method)
                let bounded = series[key] ?? admit(key)
                series[key] = bounded
                let (failed, hit) = (summary.statusClass == 5, Self.isHit(summary.cache))
                var bucket = SeriesBucket()
                for pair in summary.durationsUs where pair.count == 2 {
                    bucket.record(microseconds: UInt64(pair[0]), calls: pair[1], failed: failed, cacheHit: hit)
                }
                deltas[BucketKey(series: bounded, start: Self.bucketStart(summary.timestamp)), default: SeriesBucket()]
                    .add(bucket)
                for (key, delta) in Self.tierDeltas(of: summary) {
                    let bounded = series[key] ?? admit(key)
                    series[key] = bounded
                    deltas[
                        BucketKey(series: bounded, start: Self.bucketStart(summary.timestamp)),
                        default: SeriesBucket()
                    ]
                    .add(delta)
                }
                continue
            }
            guard let (key, duration, failed, hit) = Self.sample(of: event) else { continue }
            let bounded = series[key] ?? admit(key)
            series[key] = bounded
            deltas[BucketKey(series: bounded, start: Self.bucketStart(event.timestamp)), default: SeriesBucket()]
                .record(durationMs: duration, failed: failed, cacheHit: hit)
        }
        var rollups: [BucketKey: SeriesBucket] = [:]
        for (key, delta) in deltas {
            for resolution in Self.resolutions.dropFirst() {
                rollups[
                    BucketKey(
                        series: key.series,
                        start: Self.start(of: key.start, resolution: resolution),
                        resolution: resolution
                    ),
                    default: SeriesBucket()
                ].add(delta)
            }
        }
        deltas.merge(rollups) { $1 }
        return deltas
    }

    /// The start of the `resolution`-second bucket that holds second `seconds`.
    public static func start(of seconds: Int64, resolution: Int64) -> Int64 {
        seconds - ((seconds % resolution) + resolution) % resolution
    }

    /// `series`, or its kind's `other` series once the bound is reached.
    private func admit(_ series: SeriesKey) -> SeriesKey {
        state.withLock { state in
            if state.known.contains(series) { return series }
            guard state.known.count < maximumSeries else {
                return SeriesKey(kind: series.kind, name: "other", method: "")
            }
            state.known.insert(series)
            return series
        }
    }

    /// The bucket as this process holds it, if it does.
    func bucket(_ key: BucketKey) -> SeriesBucket? {
        state.withLock { $0.buckets[key] }
    }

    /// Keeps `buckets` as they now stand in storage.
    func keep(_ buckets: [(BucketKey, SeriesBucket)]) {
        state.withLock { state in
            for (key, bucket) in buckets { state.buckets[key] = bucket }
        }
    }

    /// Forgets the buckets that ended before `boundary` (they are in storage).
    func forget(before boundary: Int64) {
        state.withLock { state in state.buckets = state.buckets.filter { $0.key.start + $0.key.resolution >= boundary }
        }
    }

    /// Records that `series` exists (from storage, after a restart).
    func know(_ series: SeriesKey) {
        state.withLock { state in
            if state.known.count < maximumSeries { state.known.insert(series) }
        }
    }
}
