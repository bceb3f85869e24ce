import Synchronization

/// The outcome of one load, for readers that may stop waiting for it: a wait ends when the outcome is in, or at once
/// when the waiting task is cancelled (awaiting the load's task cannot be cancelled).
final class FlightOutcome: Sendable {
    private struct State {
        var outcome: LoadOutcome?
        var waiters: [UInt64: CheckedContinuation<LoadOutcome?, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Sets the outcome and resumes every waiter with it.
    func finish(_ outcome: LoadOutcome) {
        let waiters = state.withLock { state in
            state.outcome = outcome
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: outcome) }
    }

    /// The outcome once it is in; `nil` when the waiting task is cancelled first.
    func wait() async -> LoadOutcome? {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<LoadOutcome?, Never>) in
                let now = state.withLock { state -> LoadOutcome?? in
                    if let outcome = state.outcome { return .some(outcome) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[id] = waiter
                    return nil
                }
                if let now { waiter.resume(returning: now) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }
}
