import Synchronization

/// The outcome of `operation`, or a timeout error once `timeout` has passed, whichever comes first.
///
/// The operation runs in a task of its own that is cancelled on timeout; a blocking client call inside it (libpq,
/// hiredis) finishes in the background under that client's own timeouts, without holding up the caller.
func withDeadline<Value: Sendable>(
    _ timeout: Duration,
    _ operation: @escaping @Sendable () async throws -> Value
) async -> Result<Value, any Error> {
    typealias Waiter = CheckedContinuation<Result<Value, any Error>, Never>
    let state = Mutex<(waiter: Waiter?, tasks: [Task<Void, Never>])>((nil, []))
    return await withCheckedContinuation { (waiter: Waiter) in
        state.withLock { $0.waiter = waiter }
        // The first of the operation and the timer to finish answers, and cancels the other.
        let settle: @Sendable (Result<Value, any Error>) -> Void = { result in
            let (waiter, tasks) = state.withLock { state in
                defer { state.waiter = nil }
                return (state.waiter, state.tasks)
            }
            guard let waiter else { return }
            waiter.resume(returning: result)
            for task in tasks { task.cancel() }
        }
        let work = Task {
            do {
                settle(.success(try await operation()))
            } catch {
                settle(.failure(error))
            }
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            settle(.failure(DeadlineExceeded(timeout: timeout)))
        }
        let alreadySettled = state.withLock { state in
            state.tasks = [work, timer]
            return state.waiter == nil
        }
        if alreadySettled {
            work.cancel()
            timer.cancel()
        }
    }
}

/// The error of an operation that did not finish within its deadline.
struct DeadlineExceeded: Error, CustomStringConvertible {
    let timeout: Duration
    var description: String { "no answer within \(timeout)" }
}
