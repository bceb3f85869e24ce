import Foundation
import HTTPTypes
import Metrics
import WedSyncModels
import WedSyncServiceKit

/// Per route template, method, status class and cache result: request counts and latency histograms on
/// `/metrics`, and the same calls counted for the metrics service as 10-second aggregates
/// (``APICallAggregator``), shipped a few times a minute rather than one event per request.
public final class GatewayMetrics: Sendable {
    /// Counts the calls for the metrics service; `nil` when no metrics service is configured.
    public let summaries: APICallAggregator?

    struct Labels: Hashable, Sendable {
        var route: String
        var method: String
        var statusClass: Int
        var cache: String
    }

    let handles = MetricHandles<Labels> { labels in
        (
            Counter(
                label: "gateway_requests_total",
                dimensions: [
                    ("route", labels.route), ("method", labels.method), ("status_class", "\(labels.statusClass)xx"),
                    ("cache", labels.cache),
                ]
            ),
            Metrics.Timer(
                label: "gateway_request_duration_seconds",
                dimensions: [("route", labels.route), ("method", labels.method), ("cache", labels.cache)]
            )
        )
    }

    public init(summaries: APICallAggregator?) {
        self.summaries = summaries
    }

    /// What one route, method, status and cache result records per request, resolved once (the hot path keeps it).
    public final class Recorder: Sendable {
        let counter: Counter
        let timer: Metrics.Timer
        let series: APICallAggregator.Series?

        init(counter: Counter, timer: Metrics.Timer, series: APICallAggregator.Series?) {
            self.counter = counter
            self.timer = timer
            self.series = series
        }

        /// Records one request that took `duration`.
        public func record(_ duration: Duration) {
            let (seconds, attoseconds) = duration.components
            record(nanoseconds: seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }

        /// Records one request that took `nanoseconds`.
        public func record(nanoseconds: Int64) {
            counter.increment()
            timer.recordNanoseconds(nanoseconds)
            series?.record(durationMs: Double(nanoseconds) / 1e6)
        }
    }

    /// The recorder of `route` (a template, never a raw path), `method`, `status` and `cache`.
    public func recorder(route: String, method: HTTPRequest.Method, status: Int, cache: String) -> Recorder {
        let (counter, timer) = handles(
            Labels(route: route, method: method.rawValue, statusClass: status / 100, cache: cache)
        )
        return Recorder(
            counter: counter,
            timer: timer,
            series: summaries?.series(
                route: route,
                method: method.rawValue,
                status: status,
                cache: CacheResult(rawValue: cache)
            )
        )
    }

    /// Records one request. `route` is the template from the routes file, never a raw path.
    public func record(
        route: String,
        method: HTTPRequest.Method,
        status: Int,
        cache: String,
        duration: Duration
    ) {
        recorder(route: route, method: method, status: status, cache: cache).record(duration)
    }
}
