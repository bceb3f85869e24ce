import Foundation
import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization
import WedSyncModels
import WedSyncServiceKit

/// Takes validated batches and adds them to their buckets, many requests' batches in one transaction (group
/// commit), acknowledging them only once that commit is done. The queue is bounded by bytes: beyond it, `submit`
/// refuses with 503 and `Retry-After`. Buckets older than two minutes are forgotten here (they are in storage) and
/// those past the retention are dropped from storage, on an interval.
public final class EventIngestor: Service, Sendable {
    public let store: MetricsStore
    public let aggregator: Aggregator
    let flushInterval: Duration
    /// How long buckets are kept in storage.
    let retention: RetentionPolicy
    let maximumQueuedBytes: Int
    /// Counts what each commit stored, for `/metrics`.
    let exposition: MetricsExposition?
    let logger: Logger

    private struct Pending {
        var bytes: Int
        var events: [MetricEvent]
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var pending: [Pending] = []
        var queuedBytes = 0
        var stopped = false
    }

    private let state = Mutex(State())
    private let wakeUp: AsyncStream<Void>.Continuation
    private let wakeUps: AsyncStream<Void>

    public init(
        store: MetricsStore,
        aggregator: Aggregator,
        flushInterval: Duration = .seconds(10),
        retention: RetentionPolicy = RetentionPolicy(),
        maximumQueuedBytes: Int = 64 << 20,
        exposition: MetricsExposition? = nil,
        logger: Logger
    ) {
        self.store = store
        self.aggregator = aggregator
        self.flushInterval = flushInterval
        self.retention = retention
        self.maximumQueuedBytes = maximumQueuedBytes
        self.exposition = exposition
        self.logger = logger
        (wakeUps, wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Learns the series already stored (the bound on series holds across restarts). Call once, before serving.
    public func recover() throws {
        for series in try store.series(since: Aggregator.bucketStart(Date()) - 7 * 86_400) { aggregator.know(series) }
        let known = try store.gaugeSeries(since: Aggregator.bucketStart(Date()) - 7 * 86_400)
        gaugeSeries.withLock { $0 = Set(known.prefix(Self.maximumGaugeSeries)) }
    }

    /// Commits and folds in one batch; returns once it is durable. Throws 503 when the queue is full.
    /// `bytes` is the size of the request body, counted against the queue's bound.
    public func submit(bytes: Int, events: [MetricEvent]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let refusal = state.withLock { state -> ServiceError? in
                if state.stopped {
                    return ServiceError.unavailable("the metrics service is stopping", retryAfterSeconds: 1)
                }
                guard state.queuedBytes + bytes <= maximumQueuedBytes else {
                    return ServiceError.unavailable(
                        "too many events waiting to be stored: retry shortly",
                        code: "overloaded",
                        retryAfterSeconds: 1
                    )
                }
                state.pending.append(Pending(bytes: bytes, events: events, continuation: continuation))
                state.queuedBytes += bytes
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
        await withDiscardingTaskGroup { group in
            // Wakes the loop at least once a flush interval; cancelled when the loop ends.
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.flushInterval)
                    self.wakeUp.yield()
                }
            }
            var nextFlush = ContinuousClock.now + flushInterval
            await withGracefulShutdownHandler {
                for await _ in wakeUps {
                    await offload { self.commitPending() }
                    if ContinuousClock.now >= nextFlush {
                        await offload { self.tidy() }
                        nextFlush = ContinuousClock.now + flushInterval
                    }
                    if state.withLock({ $0.stopped }) { break }
                }
            } onGracefulShutdown: {
                self.state.withLock { $0.stopped = true }
                self.wakeUp.yield()
            }
            group.cancelAll()
        }
        state.withLock { $0.stopped = true }
        commitPending()
    }

    /// Runs blocking SQLite work on NIO's thread pool, off the two threads of the Swift concurrency pool that serve
    /// requests; in place once the pool is shutting down.
    private func offload(_ work: @escaping @Sendable () -> Void) async {
        do {
            try await NIOThreadPool.singleton.runIfActive(work)
        } catch {
            work()
        }
    }

    /// Adds every waiting batch to its buckets in one transaction, and acknowledges them.
    func commitPending() {
        let batch = state.withLock { state -> [Pending] in
            defer {
                state.pending.removeAll(keepingCapacity: true)
                state.queuedBytes = 0
            }
            return state.pending
        }
        guard !batch.isEmpty else { return }
        let events = batch.flatMap(\.events)
        let deltas = aggregator.deltas(of: events)
        do {
            // Buckets and gauges in one commit: a batch is stored whole or not at all, so a retried batch never
            // counts twice.
            let written = try store.add(deltas, gauges: admitGauges(Self.gauges(of: events)), held: aggregator.bucket)
            aggregator.keep(written)
            exposition?.count(deltas)
            for item in batch { item.continuation.resume() }
        } catch {
            logger.error("events not stored", metadata: ["error": "\(error)"])
            for item in batch {
                item.continuation.resume(
                    throwing: ServiceError.unavailable(
                        "the events could not be stored",
                        code: "storage_unavailable",
                        retryAfterSeconds: 1
                    )
                )
            }
        }
    }

    /// The gauge series this process accepts from events: bounded, like the request series, so made-up hosts in
    /// posted system samples cannot grow storage or `/metrics` without end. Beyond the bound a sample is dropped.
    static let maximumGaugeSeries = 1_000
    private let gaugeSeries = Mutex<Set<String>>([])

    private func admitGauges(_ samples: [GaugeSample]) -> [GaugeSample] {
        guard !samples.isEmpty else { return [] }
        return gaugeSeries.withLock { known in
            samples.filter { sample in
                if known.contains(sample.series) { return true }
                guard known.count < Self.maximumGaugeSeries else { return false }
                known.insert(sample.series)
                return true
            }
        }
    }

    /// The gauges of the system samples and findings among `events`.
    static func gauges(of events: [MetricEvent]) -> [GaugeSample] {
        events.flatMap { event -> [GaugeSample] in
            if case .finding(let finding) = event {
                let labels = ["source": finding.source, "kind": finding.kind, "severity": finding.severity]
                return [
                    GaugeSample(name: "findings", labels: labels, at: finding.timestamp, value: Double(finding.count))
                ]
            }
            guard case .systemSample(let sample) = event else { return [] }
            let host = ["host": sample.host]
            func share(_ used: Int, _ total: Int) -> Double { total > 0 ? Double(used) / Double(total) : 0 }
            return [
                GaugeSample(name: "cpu_utilisation", labels: host, at: sample.timestamp, value: sample.cpuUtilisation),
                GaugeSample(
                    name: "memory_utilisation",
                    labels: host,
                    at: sample.timestamp,
                    value: share(sample.memoryUsedBytes, sample.memoryTotalBytes)
                ),
                GaugeSample(
                    name: "disk_utilisation",
                    labels: host,
                    at: sample.timestamp,
                    value: share(sample.diskUsedBytes, sample.diskTotalBytes)
                ),
            ]
        }
    }

    /// Forgets old buckets here and drops those past the retention from storage.
    func tidy() {
        let now = Aggregator.bucketStart(Date())
        aggregator.forget(before: now - 120)
        do {
            for resolution in Aggregator.resolutions {
                try store.prune(resolution: resolution, before: now - retention.keeps(resolution))
                try store.pruneGauges(resolution: resolution, before: now - retention.keeps(resolution))
            }
        } catch {
            logger.warning("old buckets not pruned", metadata: ["error": "\(error)"])
        }
    }
}
