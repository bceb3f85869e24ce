import Foundation
import HTTPTypes
import Synchronization
import WedSyncCacheKit
import WedSyncModels
import WedSyncServiceKit

/// Per route template, method, status class and cache result: request counts and latency histograms on
/// `/metrics`, and the same calls counted for the metrics service as 10-second aggregates
/// (``APICallAggregator``), shipped a few times a minute rather than one event per request.
///
/// Every request records here, cache hits answered on the event loops included, so the figures are kept per thread
/// (``ShardedTimer``) and summed when `/metrics` is read (``Exposition``, one ``PrometheusCollector`` for every
/// gateway in the process): a counter and a histogram shared by the event loops were written from two cores on every
/// hit, which cost the hit path a tenth of its rate.
public final class GatewayMetrics: Sendable {
    /// Counts the calls for the metrics service; `nil` when no metrics service is configured.
    public let summaries: APICallAggregator?

    struct Labels: Hashable, Sendable {
        var route: String
        var method: String
        var statusClass: Int
        var cache: String
    }

    /// A recorder's labels and the cache tier that answered (counted per tier for the metrics service; `/metrics`
    /// adds the tiers up).
    struct RecorderKey: Hashable, Sendable {
        var labels: Labels
        var tier: APICallSummaryEvent.Tier?
        /// Whether the calls are shipped to the metrics service (a warming service's are not).
        var shipped: Bool
    }

    /// The gateway's cache, as the metrics service names its tiers' series (`gw/L1`).
    public static let cacheNamespace = "gw"

    fileprivate let recorders = Mutex<[RecorderKey: Recorder]>([:])

    public init(summaries: APICallAggregator?) {
        self.summaries = summaries
        Exposition.shared.add(self)
    }

    /// The gateway families on `/metrics`, written once for every live ``GatewayMetrics`` of the process (tests run
    /// several gateways in one): figures of the same labels add up, as they did in one Prometheus registry.
    final class Exposition: PrometheusCollector {
        static let shared: Exposition = {
            let exposition = Exposition()
            PrometheusMetrics.register(exposition)
            return exposition
        }()

        private struct Weak: Sendable {
            weak var metrics: GatewayMetrics?
        }

        private let members = Mutex<[Weak]>([])

        func add(_ metrics: GatewayMetrics) {
            members.withLock { members in
                members.removeAll { $0.metrics == nil }
                members.append(Weak(metrics: metrics))
            }
        }

        func collect(into exposition: inout PrometheusExposition) {
            let live = members.withLock { $0.compactMap(\.metrics) }
            var merged: [Labels: ShardedTimer.Snapshot] = [:]
            for metrics in live {
                for recorder in metrics.recorders.withLock({ Array($0.values) }) {
                    merged[recorder.labels, default: ShardedTimer.Snapshot()].add(recorder.timer.snapshot())
                }
            }
            GatewayMetrics.write(merged, into: &exposition)
        }
    }

    /// What one route, method, status class and cache result records per request, resolved once (the hot path
    /// keeps it).
    public final class Recorder: Sendable {
        let labels: Labels
        let timer = ShardedTimer()
        let series: APICallAggregator.Series?

        init(labels: Labels, series: APICallAggregator.Series?) {
            self.labels = labels
            self.series = series
        }

        /// Records one request that took `duration`.
        public func record(_ duration: Duration) {
            let (seconds, attoseconds) = duration.components
            record(nanoseconds: seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }

        /// Records one request that took `nanoseconds`, ending now (to the second: the aggregates' windows are ten
        /// seconds wide).
        public func record(nanoseconds: Int64) {
            timer.record(nanoseconds: nanoseconds)
            series?.record(durationMs: Double(nanoseconds) / 1e6, atSeconds: CoarseClock.secondsSince1970)
        }
    }

    /// The recorder of `route` (a template, never a raw path), `method`, `status` and `cache`, answered by `tier`
    /// of the cache (`nil`: no lookup); counted on `/metrics` only unless `shipped`.
    public func recorder(
        route: String,
        method: HTTPRequest.Method,
        status: Int,
        cache: String,
        tier: APICallSummaryEvent.Tier? = nil,
        shipped: Bool = true
    ) -> Recorder {
        let labels = Labels(route: route, method: method.rawValue, statusClass: status / 100, cache: cache)
        let key = RecorderKey(labels: labels, tier: tier, shipped: shipped)
        if let known = recorders.withLock({ $0[key] }) { return known }
        let made = Recorder(
            labels: labels,
            series: !shipped
                ? nil
                : summaries?.series(
                    route: route,
                    method: method.rawValue,
                    status: status,
                    cache: CacheResult(rawValue: cache),
                    tier: tier,
                    namespace: Self.cacheNamespace
                )
        )
        return recorders.withLock { recorders in
            if let known = recorders[key] { return known }
            recorders[key] = made
            return made
        }
    }

    /// The tier a request's cache result and stored tier say answered it: the tier for a hit or a stale answer,
    /// `origin` for a miss or a revalidation, `nil` for no lookup (a bypass, an uncached route).
    static func tier(cache: String, stored: CacheTier?) -> APICallSummaryEvent.Tier? {
        switch cache {
        case "HIT", "STALE":
            switch stored {
            case .l1?: .l1
            case .l2?: .l2
            default: nil
            }
        case "MISS", "REVALIDATED": .origin
        default: nil
        }
    }

    /// Records one request. `route` is the template from the routes file, never a raw path.
    public func record(
        route: String,
        method: HTTPRequest.Method,
        status: Int,
        cache: String,
        tier: APICallSummaryEvent.Tier? = nil,
        shipped: Bool = true,
        duration: Duration
    ) {
        recorder(route: route, method: method, status: status, cache: cache, tier: tier, shipped: shipped)
            .record(duration)
    }

    /// `gateway_requests_total` (by route, method, status class and cache result) and
    /// `gateway_request_duration_seconds` (by route, method and cache result) of `figures`.
    static func write(_ figures: [Labels: ShardedTimer.Snapshot], into exposition: inout PrometheusExposition) {
        guard !figures.isEmpty else { return }
        let snapshots = figures.map { ($0.key, $0.value) }.sorted { Self.order($0.0, $1.0) }
        exposition.family(
            "gateway_requests_total",
            type: "counter",
            help: "Requests the gateway answered, by route template, method, status class and cache result."
        )
        for (labels, snapshot) in snapshots {
            exposition.sample(
                "gateway_requests_total",
                labels: [
                    ("route", labels.route), ("method", labels.method), ("status_class", "\(labels.statusClass)xx"),
                    ("cache", labels.cache),
                ],
                value: "\(snapshot.count)"
            )
        }
        exposition.family(
            "gateway_request_duration_seconds",
            type: "histogram",
            help: "Time the gateway took to answer a request, by route template, method and cache result."
        )
        // Status classes summed: the histogram's series are per route, method and cache result.
        var merged: [(labels: Labels, snapshot: ShardedTimer.Snapshot)] = []
        for (labels, snapshot) in snapshots {
            if let last = merged.indices.last, merged[last].labels.route == labels.route,
                merged[last].labels.method == labels.method, merged[last].labels.cache == labels.cache
            {
                merged[last].snapshot.add(snapshot)
            } else {
                merged.append((labels, snapshot))
            }
        }
        for (labels, snapshot) in merged {
            exposition.histogram(
                "gateway_request_duration_seconds",
                labels: [("route", labels.route), ("method", labels.method), ("cache", labels.cache)],
                snapshot
            )
        }
    }

    /// Route, method, cache result, then status class: the order that keeps each histogram series' status classes
    /// together.
    private static func order(_ left: Labels, _ right: Labels) -> Bool {
        (left.route, left.method, left.cache, left.statusClass) < (
            right.route, right.method, right.cache, right.statusClass
        )
    }
}
