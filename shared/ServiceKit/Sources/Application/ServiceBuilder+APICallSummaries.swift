import WedSyncModels

extension ServiceBuilder {
    /// Counts this service's calls for the metrics service (`metrics.url`) as ``APICallSummaryEvent`` aggregates,
    /// shipped every `flushInterval` by a ``BackgroundDelivery`` named `name`; both are registered here (the
    /// aggregator after the delivery, so it stops first and hands over what it counted last). Best effort: the
    /// figures never decide readiness.
    public func apiCallSummaries(name: String, flushInterval: Duration) -> APICallAggregator {
        let metrics = serviceClient("metrics", baseURL: configuration.metricsURL, critical: false, checked: false)
        // Summaries are bigger than single events: a batch holds few, so it stays inside the body limit.
        let delivery = BackgroundDelivery.metricEvents(
            name: name,
            client: metrics,
            path: APIPath.Metrics.events,
            configuration: .init(capacity: 2_000, batchSize: APICallSummaryEvent.batchSize),
            logger: logger
        )
        addService(delivery)
        let aggregator = APICallAggregator(delivery: delivery, flushInterval: flushInterval, logger: logger)
        addService(aggregator)
        return aggregator
    }
}
