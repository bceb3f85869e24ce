import DequeModule
import Synchronization

/// The requests of an open model that are due and not yet on a connection, oldest first. Connections take from it;
/// a request that waits here still counts its wait, since its latency runs from its intended start.
final class JobQueue: Sendable {
    private struct State {
        var jobs = Deque<Job>()
        var waiters = Deque<CheckedContinuation<Job?, Never>>()
        var finished = false
        var highWater = 0
    }

    private let state = Mutex(State())

    /// Adds a due request: to a waiting connection if one is idle, else to the queue.
    func push(_ job: Job) {
        let waiter = state.withLock { state -> CheckedContinuation<Job?, Never>? in
            if let waiter = state.waiters.popFirst() { return waiter }
            state.jobs.append(job)
            state.highWater = max(state.highWater, state.jobs.count)
            return nil
        }
        waiter?.resume(returning: job)
    }

    /// The oldest due request, waiting for one; `nil` once the queue is finished and empty.
    func next() async -> Job? {
        await withCheckedContinuation { (waiter: CheckedContinuation<Job?, Never>) in
            let now = state.withLock { state -> Job?? in
                if let job = state.jobs.popFirst() { return .some(job) }
                if state.finished { return .some(nil) }
                state.waiters.append(waiter)
                return nil
            }
            if let now { waiter.resume(returning: now) }
        }
    }

    /// No more requests will come: idle connections stop, the queued ones are still taken.
    func finish() {
        let waiters = state.withLock { state in
            state.finished = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters)
        }
        for waiter in waiters { waiter.resume(returning: nil) }
    }

    /// Drops what is still queued (the run's drain time is over); returns how many.
    func abandon() -> Int {
        let (dropped, waiters) = state.withLock { state in
            state.finished = true
            defer {
                state.jobs.removeAll()
                state.waiters.removeAll()
            }
            return (state.jobs.count, Array(state.waiters))
        }
        for waiter in waiters { waiter.resume(returning: nil) }
        return dropped
    }

    /// Requests queued now.
    var queued: Int { state.withLock { $0.jobs.count } }

    /// The most requests ever queued at once.
    var highWater: Int { state.withLock { $0.highWater } }
}
