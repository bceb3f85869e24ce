import Logging
import NIOHTTP1
import WedSyncModels
import WedSyncServiceKit

/// Reports the statements each request ran (fingerprint, duration, rows, request id, route), batched and in the
/// background: to the metrics service (`POST /v1/events`) for slow-query figures, and to the query optimizer
/// (`POST /v1/query-events`) for N+1 detection. Each destination has a queue of its own, so one that is down
/// never holds back the other.
public final class QueryEventReporter: Sendable {
    /// A service the events go to.
    public struct Destination: Sendable {
        public var name: String
        public var client: ServiceClient
        /// The path events are posted to, as a ``MetricEventBatch``.
        public var path: String

        public init(name: String, client: ServiceClient, path: String) {
            self.name = name
            self.client = client
            self.path = path
        }
    }

    /// One queue per destination, run by the service group.
    public let deliveries: [BackgroundDelivery<MetricEvent>]

    public init(
        destinations: [Destination],
        configuration: BackgroundDelivery<MetricEvent>.Configuration = .init(),
        logger: Logger
    ) {
        deliveries = destinations.map { destination in
            BackgroundDelivery.metricEvents(
                name: "query-events-\(destination.name)",
                client: destination.client,
                path: destination.path,
                configuration: configuration,
                logger: logger
            )
        }
    }

    /// Queues one event per statement of `log` for every destination.
    public func report(_ log: QueryLog, requestID: String?, route: String) {
        let events = log.recorded.map { entry in
            MetricEvent.databaseQuery(
                DatabaseQueryEvent(
                    timestamp: entry.at,
                    fingerprint: entry.fingerprint,
                    durationMs: entry.durationMs,
                    rows: entry.rows,
                    requestId: requestID,
                    route: route
                )
            )
        }
        for delivery in deliveries { delivery.submit(contentsOf: events) }
    }
}
