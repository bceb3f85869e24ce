import DequeModule
import Logging
import Metrics
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import WedSyncModels

/// A bounded queue of items delivered in batches by a background task, with retries: for what a request reports
/// to another service (cache invalidations, query events) without ever waiting for it or failing because of it.
///
/// ```swift
/// let events = BackgroundDelivery<MetricEvent>(name: "query-events", logger: logger) { batch in
///     _ = try await metrics.post("/v1/events", body: MetricEventBatch(events: batch), as: EventsAccepted.self)
/// }
/// service.addService(events)          // runs it, and flushes it on shutdown
/// events.submit(event)                // never blocks; `false` (and a counted drop) when the queue is full
/// ```
/// A batch that still fails after the configured attempts is dropped and counted
/// (`wedsync_delivery_dropped_total{queue,reason="undeliverable"}`), as are items refused by a full queue
/// (`reason="overflow"`): the queue never grows past its capacity, whatever the receiver does.
///
/// A batch the receiver refuses for good (a 4xx other than 408 and 429: a bad item, a credential it does not know)
/// is not retried: it is counted as `reason="rejected"`, and the first such error of each minute is logged. Items
/// that fail the queue's own `check` (the contract the receiver applies) are never queued: `reason="invalid"`.
public final class BackgroundDelivery<Item: Sendable>: Service, Sendable {
    /// Sizes and timings.
    public struct Configuration: Sendable {
        /// Items held at most; beyond it `submit` drops.
        public var capacity: Int
        /// Items per call of `send`.
        public var batchSize: Int
        /// Attempts per batch before it is dropped.
        public var maximumAttempts: Int
        /// The wait after the first failure; doubled after each further one, up to `maximumBackoff`.
        public var initialBackoff: Duration
        public var maximumBackoff: Duration
        /// How long graceful shutdown waits for the queue to drain.
        public var flushTimeout: Duration

        public init(
            capacity: Int = 10_000,
            batchSize: Int = 500,
            maximumAttempts: Int = 6,
            initialBackoff: Duration = .milliseconds(100),
            maximumBackoff: Duration = .seconds(5),
            flushTimeout: Duration = .seconds(5)
        ) {
            precondition(
                capacity > 0 && batchSize > 0 && maximumAttempts > 0,
                "a delivery queue needs room and attempts"
            )
            self.capacity = capacity
            self.batchSize = batchSize
            self.maximumAttempts = maximumAttempts
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
            self.flushTimeout = flushTimeout
        }
    }

    /// Counts since start.
    public struct Statistics: Sendable, Equatable {
        public var queued: Int
        public var delivered: Int
        public var droppedOverflow: Int
        public var droppedUndeliverable: Int
        /// Items of batches the receiver refused for good.
        public var rejected: Int
        /// Items that failed the queue's check and were never queued.
        public var invalid: Int
        public var failedAttempts: Int
    }

    public let name: String
    public let configuration: Configuration
    private let send: @Sendable ([Item]) async throws -> Void
    private let check: (@Sendable (Item) -> String?)?
    private let logger: Logger
    private let state = Mutex(State())
    private let wakeUp: AsyncStream<Void>.Continuation
    private let wakeUps: AsyncStream<Void>
    private let deliveredCounter: Counter
    private let overflowCounter: Counter
    private let undeliverableCounter: Counter
    private let rejectedCounter: Counter
    private let invalidCounter: Counter
    private let retryCounter: Counter

    private struct State {
        var items = Deque<Item>()
        var statistics = Statistics(
            queued: 0,
            delivered: 0,
            droppedOverflow: 0,
            droppedUndeliverable: 0,
            rejected: 0,
            invalid: 0,
            failedAttempts: 0
        )
        /// When a refusal (by the receiver, or by `check`) was last logged.
        var lastRefusalLogged: ContinuousClock.Instant?
    }

    /// - Parameters:
    ///   - check: what is wrong with an item, `nil` when nothing is: the receiver's own contract, applied before an
    ///     item is queued so that one bad item never costs a whole batch.
    ///   - send: delivers one batch; throwing means "try again later", unless the error is a permanent refusal
    ///     (``ServiceClientError/isPermanentRefusal``).
    public init(
        name: String,
        configuration: Configuration = .init(),
        logger: Logger,
        check: (@Sendable (Item) -> String?)? = nil,
        send: @escaping @Sendable ([Item]) async throws -> Void
    ) {
        self.name = name
        self.configuration = configuration
        self.send = send
        self.check = check
        var logger = logger
        logger[metadataKey: "delivery.queue"] = .string(name)
        self.logger = logger
        (wakeUps, wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        deliveredCounter = Counter(label: "wedsync_delivery_delivered_total", dimensions: [("queue", name)])
        overflowCounter = Counter(
            label: "wedsync_delivery_dropped_total",
            dimensions: [("queue", name), ("reason", "overflow")]
        )
        undeliverableCounter = Counter(
            label: "wedsync_delivery_dropped_total",
            dimensions: [("queue", name), ("reason", "undeliverable")]
        )
        rejectedCounter = Counter(
            label: "wedsync_delivery_dropped_total",
            dimensions: [("queue", name), ("reason", "rejected")]
        )
        invalidCounter = Counter(
            label: "wedsync_delivery_dropped_total",
            dimensions: [("queue", name), ("reason", "invalid")]
        )
        retryCounter = Counter(label: "wedsync_delivery_failed_attempts_total", dimensions: [("queue", name)])
        // Every reason is exposed from the start, so a dashboard reads 0 rather than nothing.
        for counter in [overflowCounter, undeliverableCounter, rejectedCounter, invalidCounter] {
            counter.increment(by: 0)
        }
    }

    /// Queues `item` for delivery. Never waits: returns `false`, and counts a drop, when the queue is full.
    @discardableResult
    public func submit(_ item: Item) -> Bool {
        submit(contentsOf: CollectionOfOne(item)) == 1
    }

    /// Queues as many of `items` as there is room for and returns how many; the rest are dropped and counted, as
    /// are items that fail the queue's check.
    @discardableResult
    public func submit(contentsOf items: some Collection<Item>) -> Int {
        guard !items.isEmpty else { return 0 }
        if let check {
            var valid: [Item] = []
            valid.reserveCapacity(items.count)
            var firstProblem: String?
            for item in items {
                if let problem = check(item) {
                    firstProblem = firstProblem ?? problem
                } else {
                    valid.append(item)
                }
            }
            if let firstProblem {
                let count = items.count - valid.count
                state.withLock { $0.statistics.invalid += count }
                invalidCounter.increment(by: count)
                logRefusal("items failed the contract check: not sent", count: count, error: firstProblem)
            }
            return enqueue(valid)
        }
        return enqueue(items)
    }

    private func enqueue(_ items: some Collection<Item>) -> Int {
        guard !items.isEmpty else { return 0 }
        let accepted = state.withLock { state -> Int in
            let room = max(0, configuration.capacity - state.items.count)
            let accepted = min(room, items.count)
            state.items.append(contentsOf: items.prefix(accepted))
            state.statistics.droppedOverflow += items.count - accepted
            return accepted
        }
        if accepted < items.count {
            overflowCounter.increment(by: items.count - accepted)
            logger.warning("delivery queue full: items dropped", metadata: ["dropped": "\(items.count - accepted)"])
        }
        if accepted > 0 { wakeUp.yield() }
        return accepted
    }

    /// Counts since start, and what waits now.
    public var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.queued = state.items.count
            return statistics
        }
    }

    // MARK: Service

    /// Delivers until graceful shutdown, then drains what is queued for at most `flushTimeout`.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in self.wakeUps {
                await self.drain()
                if Task.isCancelled { break }
            }
        }
        let leftover = state.withLock { $0.items.count }
        guard leftover > 0 else { return }
        // Past the deadline, what is left is lost, and said so.
        _ = await withDeadline(configuration.flushTimeout) {
            await self.drain(retrying: false)
        }
        let lost = state.withLock { state -> Int in
            let count = state.items.count
            state.items.removeAll()
            state.statistics.droppedUndeliverable += count
            return count
        }
        if lost > 0 {
            undeliverableCounter.increment(by: lost)
            logger.warning("delivery queue not drained before shutdown", metadata: ["dropped": "\(lost)"])
        }
    }

    /// Sends batches until the queue is empty (or the task is cancelled).
    private func drain(retrying: Bool = true) async {
        while !Task.isCancelled || !retrying {
            let batch = state.withLock { state -> [Item] in
                let count = min(configuration.batchSize, state.items.count)
                let batch = Array(state.items.prefix(count))
                state.items.removeFirst(count)
                return batch
            }
            guard !batch.isEmpty else { return }
            await deliver(batch, attempts: retrying ? configuration.maximumAttempts : 1)
            if !retrying && Task.isCancelled { return }
        }
    }

    private func deliver(_ batch: [Item], attempts: Int) async {
        var backoff = configuration.initialBackoff
        for attempt in 1...attempts {
            do {
                try await send(batch)
                state.withLock { $0.statistics.delivered += batch.count }
                deliveredCounter.increment(by: batch.count)
                return
            } catch let error as ServiceClientError where error.isPermanentRefusal {
                // Sending it again would be refused again: count it, say so, and go on with the next batch.
                state.withLock { $0.statistics.rejected += batch.count }
                rejectedCounter.increment(by: batch.count)
                logRefusal("batch refused by the receiver: not retried", count: batch.count, error: error.description)
                return
            } catch {
                state.withLock { $0.statistics.failedAttempts += 1 }
                retryCounter.increment()
                logger.debug(
                    "delivery attempt failed",
                    metadata: ["attempt": "\(attempt)", "batch.size": "\(batch.count)", "error": "\(error)"]
                )
                guard attempt < attempts else { break }
                do {
                    try await Task.sleep(for: backoff)
                } catch {
                    // Shutting down: one last try is made by the flush.
                    state.withLock { $0.items.insert(contentsOf: batch, at: 0) }
                    return
                }
                backoff = min(backoff * 2, configuration.maximumBackoff)
            }
        }
        state.withLock { $0.statistics.droppedUndeliverable += batch.count }
        undeliverableCounter.increment(by: batch.count)
        logger.warning("batch undeliverable after retries: dropped", metadata: ["batch.size": "\(batch.count)"])
    }

    /// Logs a refusal, at most once a minute (the first of each minute), so a receiver refusing every batch cannot
    /// flood the log.
    private func logRefusal(_ message: Logger.Message, count: Int, error: String) {
        let now = ContinuousClock.now
        let due = state.withLock { state -> Bool in
            if let last = state.lastRefusalLogged, now - last < .seconds(60) { return false }
            state.lastRefusalLogged = now
            return true
        }
        guard due else { return }
        logger.error(message, metadata: ["delivery.items": "\(count)", "error": "\(error)"])
    }
}

extension BackgroundDelivery where Item == MetricEvent {
    /// A queue of events for a service that takes ``MetricEventBatch``es (`POST /v1/events` of the metrics service,
    /// `POST /v1/query-events` of the query optimizer): each event is checked against the shared contract
    /// (``MetricEvent/problem``) before it is queued, as the receiver will check it.
    public static func metricEvents(
        name: String,
        client: ServiceClient,
        path: String,
        configuration: Configuration = .init(),
        logger: Logger
    ) -> BackgroundDelivery<MetricEvent> {
        BackgroundDelivery(name: name, configuration: configuration, logger: logger, check: { $0.problem }) { batch in
            _ = try await client.send(.POST, path, json: MetricEventBatch(events: batch))
        }
    }
}
