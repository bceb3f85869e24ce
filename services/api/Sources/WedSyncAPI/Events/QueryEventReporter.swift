import Logging
import NIOHTTP1
import WedSyncModels
import WedSyncServiceKit

/// Reports the statements each request ran (fingerprint, duration, rows, request id, route) to the metrics
/// service (`POST /v1/events`), batched and in the background, so N+1 patterns and slow queries can be found.
public final class QueryEventReporter: Sendable {
    public let delivery: BackgroundDelivery<MetricEvent>

    public init(client: ServiceClient, configuration: BackgroundDelivery<MetricEvent>.Configuration = .init(), logger: Logger) {
        delivery = BackgroundDelivery(name: "query-events", configuration: configuration, logger: logger) { batch in
            _ = try await client.send(.POST, APIPath.Metrics.events, json: MetricEventBatch(events: batch))
        }
    }

    /// Queues one event per statement of `log`.
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
        delivery.submit(contentsOf: events)
    }
}
