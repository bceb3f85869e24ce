import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import WedSyncModels
import WedSyncServiceKit

/// Takes validated batches, commits them to the journal (many requests' batches in one transaction: group commit),
/// folds them into the aggregator, and only then acknowledges them. Closed buckets are flushed on an interval and
/// on shutdown. The queue is bounded by bytes: beyond it, `submit` refuses with 503 and `Retry-After`.
public final class EventIngestor: Service, Sendable {
    public let store: MetricsStore
    public let aggregator: Aggregator
    let flushInterval: Duration
    /// How far behind now a bucket must end before it is flushed.
    let grace: Int64
    let maximumQueuedBytes: Int
    let logger: Logger

    private struct Pending {
        var body: [UInt8]
        var events: [MetricEvent]
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var pending: [Pending] = []
        var queuedBytes = 0
        var lastFolded: Int64 = 0
        var stopped = false
    }

    private let state = Mutex(State())
    private let wakeUp: AsyncStream<Void>.Continuation
    private let wakeUps: AsyncStream<Void>

    public init(store: MetricsStore, aggregator: Aggregator, flushInterval: Duration = .seconds(10), grace: Int64 = 5, maximumQueuedBytes: Int = 64 << 20, logger: Logger) {
        self.store = store
        self.aggregator = aggregator
        self.flushInterval = flushInterval
        self.grace = grace
        self.maximumQueuedBytes = maximumQueuedBytes
        self.logger = logger
        (wakeUps, wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Folds in the journal rows a crash left behind. Call once, before serving.
    public func recover() throws {
        let (batches, boundary, through) = try store.pendingBatches()
        var events = 0
        for batch in batches {
            guard let decoded = EventBatchParser.parse(batch.body) ?? (try? EventValidation.slowDecode(Data(batch.body)))?.events else { continue }
            aggregator.add(decoded, notBefore: batch.id <= through ? boundary : nil)
            events += decoded.count
        }
        state.withLock { $0.lastFolded = max($0.lastFolded, batches.last?.id ?? through) }
        if !batches.isEmpty {
            logger.notice("journal replayed", metadata: ["metrics.batches": "\(batches.count)", "metrics.events": "\(events)"])
        }
    }

    /// Commits and folds in one batch; returns once it is durable. Throws 503 when the queue is full.
    public func submit(body: [UInt8], events: [MetricEvent]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let refusal = state.withLock { state -> ServiceError? in
                if state.stopped { return ServiceError.unavailable("the metrics service is stopping", retryAfterSeconds: 1) }
                guard state.queuedBytes + body.count <= maximumQueuedBytes else {
                    return ServiceError.unavailable("too many events waiting to be stored: retry shortly", code: "overloaded", retryAfterSeconds: 1)
                }
                state.pending.append(Pending(body: body, events: events, continuation: continuation))
                state.queuedBytes += body.count
                return nil
            }
            if let refusal {
                continuation.resume(throwing: refusal)
            } else {
                wakeUp.yield()
            }
        }
    }

    public func run() async throws {
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: flushInterval)
                wakeUp.yield()
            }
        }
        defer { ticker.cancel() }
        var nextFlush = ContinuousClock.now + flushInterval
        await withGracefulShutdownHandler {
            for await _ in wakeUps {
                commitPending()
                if ContinuousClock.now >= nextFlush {
                    flush(boundary: Aggregator.bucketStart(Date().addingTimeInterval(-Double(grace))))
                    nextFlush = ContinuousClock.now + flushInterval
                }
                if state.withLock({ $0.stopped }) { break }
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.stopped = true }
            self.wakeUp.yield()
        }
        commitPending()
        flush(boundary: .max)
    }

    /// Commits every waiting batch in one transaction, folds them in, and acknowledges them.
    func commitPending() {
        let batch = state.withLock { state -> [Pending] in
            defer {
                state.pending.removeAll(keepingCapacity: true)
                state.queuedBytes = 0
            }
            return state.pending
        }
        guard !batch.isEmpty else { return }
        do {
            let ids = try store.append(batch.map { ($0.body, $0.events.map(\.timestamp.timeIntervalSince1970).max() ?? 0) })
            for item in batch { aggregator.add(item.events) }
            state.withLock { $0.lastFolded = max($0.lastFolded, ids.last ?? 0) }
            for item in batch { item.continuation.resume() }
        } catch {
            logger.error("events not stored", metadata: ["error": "\(error)"])
            for item in batch {
                item.continuation.resume(throwing: ServiceError.unavailable("the events could not be stored", code: "storage_unavailable", retryAfterSeconds: 1))
            }
        }
    }

    /// Writes the buckets that start before `boundary` and forgets the journal rows they cover.
    func flush(boundary: Int64) {
        let through = state.withLock { $0.lastFolded }
        let closed = aggregator.takeClosed(before: boundary)
        do {
            try store.flush(closed, boundary: boundary == .max ? Int64.max / 2 : boundary, through: through)
        } catch {
            aggregator.restore(closed)
            logger.error("buckets not flushed", metadata: ["error": "\(error)"])
        }
    }
}
