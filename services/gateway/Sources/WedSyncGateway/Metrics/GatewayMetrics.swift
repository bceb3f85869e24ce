import Foundation
import HTTPTypes
import Metrics
import WedSyncModels
import WedSyncServiceKit

/// Per route template, method, status class and cache result: request counts and latency histograms on
/// `/metrics`, and one `api_call` event per request queued for the metrics service. The queue is bounded and never
/// waits: when it is full the event is dropped and counted (`wedsync_delivery_dropped_total`).
public final class GatewayMetrics: Sendable {
    /// Delivers the events; `nil` when no metrics service is configured.
    public let events: BackgroundDelivery<MetricEvent>?

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

    public init(events: BackgroundDelivery<MetricEvent>?) {
        self.events = events
    }

    /// Records one request. `route` is the template from the routes file, never a raw path.
    public func record(
        route: String,
        method: HTTPRequest.Method,
        status: Int,
        cache: String,
        duration: Duration,
        tenant: String? = nil,
        requestID: String? = nil
    ) {
        let (counter, timer) = handles(
            Labels(route: route, method: method.rawValue, statusClass: status / 100, cache: cache)
        )
        counter.increment()
        timer.recordNanoseconds(Int64(duration / .nanoseconds(1)))
        if let events {
            events.submit(
                .apiCall(
                    APICallEvent(
                        timestamp: Date(),
                        route: route,
                        method: method.rawValue,
                        status: status,
                        durationMs: Double(duration / .nanoseconds(1)) / 1e6,
                        cache: CacheResult(rawValue: cache),
                        tenant: tenant,
                        requestId: requestID
                    )
                )
            )
        }
    }
}
