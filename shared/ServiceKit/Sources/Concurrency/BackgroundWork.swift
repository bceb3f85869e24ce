import DequeModule
import Logging
import ServiceLifecycle
import Synchronization

/// Work a request starts and does not wait for (a response stored after it is sent, a background revalidation, a
/// replica drained), run as children of this service's task group so none outlives the service.
///
/// At graceful shutdown it takes no more work, lets what is queued and running finish for up to
/// ``Configuration/drainTimeout``, then cancels what is still running and drops what never started (each dropped
/// job's `onDrop` runs). Register it after the services its jobs use, so it drains before they stop.
public final class BackgroundWork: Service, Sendable {
    public struct Configuration: Sendable {
        /// Jobs running at once.
        public var concurrency: Int
        /// Jobs queued at most; beyond it ``BackgroundWork/submit(key:onDrop:_:)`` refuses.
        public var capacity: Int
        /// How long queued and running jobs get at graceful shutdown before they are cancelled.
        public var drainTimeout: Duration

        public init(concurrency: Int = 8, capacity: Int = 1_000, drainTimeout: Duration = .seconds(10)) {
            self.concurrency = max(1, concurrency)
            self.capacity = max(1, capacity)
            self.drainTimeout = drainTimeout
        }
    }

    /// Counts since start.
    public struct Statistics: Sendable, Equatable {
        public var queued = 0
        public var running = 0
        public var completed = 0
        /// Submissions refused: queue full, shutting down, or the same key already queued or running.
        public var refused = 0
        /// Accepted jobs that never started (shutdown came first).
        public var dropped = 0
    }

    private struct Job: Sendable {
        let key: String?
        let onDrop: (@Sendable () -> Void)?
        let work: @Sendable () async -> Void
    }

    private struct State {
        var queue = Deque<Job>()
        var keys = Set<String>()
        var accepting = true
        var expired = false
        var statistics = Statistics()
        var idleWaiters: [CheckedContinuation<Void, Never>] = []

        var isIdle: Bool { queue.isEmpty && statistics.running == 0 }
    }

    public let name: String
    public let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(State())
    private let wakeUps: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation

    public init(name: String, configuration: Configuration = Configuration(), logger: Logger) {
        self.name = name
        self.configuration = configuration
        self.logger = logger
        (wakeUps, wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.queued = state.queue.count
            return statistics
        }
    }

    /// Queues `job`. `false` when the queue is full, the service is shutting down, or a job with the same `key` is
    /// queued or running: the job then never runs, and the caller undoes what it prepared for it. `onDrop` runs when
    /// an accepted job is dropped unstarted at shutdown.
    @discardableResult
    public func submit(
        key: String? = nil,
        onDrop: (@Sendable () -> Void)? = nil,
        _ job: @escaping @Sendable () async -> Void
    ) -> Bool {
        let accepted = state.withLock { state -> Bool in
            guard state.accepting, state.queue.count < configuration.capacity,
                key.map({ !state.keys.contains($0) }) ?? true
            else {
                state.statistics.refused += 1
                return false
            }
            if let key { state.keys.insert(key) }
            state.queue.append(Job(key: key, onDrop: onDrop, work: job))
            return true
        }
        if accepted { wakeUp.yield() }
        return accepted
    }

    /// Returns once nothing is queued or running (at once when that is so already).
    public func idle() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.isIdle { return true }
                state.idleWaiters.append(waiter)
                return false
            }
            if now { waiter.resume() }
        }
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            var timerStarted = false
            await withGracefulShutdownHandler {
                for await _ in wakeUps {
                    while let job = next() {
                        group.addTask {
                            await job.work()
                            self.finished(job)
                        }
                    }
                    let (accepting, expired, idle) = state.withLock { ($0.accepting, $0.expired, $0.isIdle) }
                    if !accepting, !timerStarted {
                        timerStarted = true
                        let timeout = configuration.drainTimeout
                        group.addTask {
                            try? await Task.sleep(for: timeout)
                            self.state.withLock { $0.expired = true }
                            self.wakeUp.yield()
                        }
                    }
                    if !accepting, idle || expired { break }
                }
            } onGracefulShutdown: {
                self.state.withLock { $0.accepting = false }
                self.wakeUp.yield()
            }
            dropQueued()
            // Cancels jobs still running after the drain timeout, and the timer.
            group.cancelAll()
        }
        let statistics = statistics
        if statistics.dropped > 0 {
            logger.info(
                "background work dropped at shutdown",
                metadata: ["queue": "\(name)", "dropped": "\(statistics.dropped)"]
            )
        }
    }

    private func next() -> Job? {
        state.withLock { state in
            guard !state.expired, state.statistics.running < configuration.concurrency,
                let job = state.queue.popFirst()
            else { return nil }
            state.statistics.running += 1
            return job
        }
    }

    private func finished(_ job: Job) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.statistics.running -= 1
            state.statistics.completed += 1
            if let key = job.key { state.keys.remove(key) }
            guard state.isIdle else { return [] }
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
        wakeUp.yield()
    }

    /// Stops taking work and drops what never started (the run is over: cancelled, or the drain timed out).
    private func dropQueued() {
        let (dropped, waiters) = state.withLock { state -> ([Job], [CheckedContinuation<Void, Never>]) in
            state.accepting = false
            let dropped = Array(state.queue)
            state.queue.removeAll()
            for job in dropped {
                if let key = job.key { state.keys.remove(key) }
            }
            state.statistics.dropped += dropped.count
            guard state.isIdle else { return (dropped, []) }
            defer { state.idleWaiters = [] }
            return (dropped, state.idleWaiters)
        }
        for job in dropped { job.onDrop?() }
        for waiter in waiters { waiter.resume() }
    }
}
