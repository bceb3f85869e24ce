import Metrics
import Synchronization
import WedSyncModels

/// Runs every readiness check at once, each bounded by a timeout, and reports the dependencies' states.
struct ReadinessProbe: Sendable {
    let checks: [any ReadinessCheck]
    let timeout: Duration

    func run() async -> [DependencyStatus] {
        await withTaskGroup(of: (Int, DependencyStatus).self) { group in
            for (index, check) in checks.enumerated() {
                group.addTask { (index, await Self.run(check, timeout: timeout)) }
            }
            var statuses = [DependencyStatus?](repeating: nil, count: checks.count)
            for await (index, status) in group { statuses[index] = status }
            return statuses.compactMap { $0 }
        }
    }

    private static func run(_ check: any ReadinessCheck, timeout: Duration) async -> DependencyStatus {
        let start = ContinuousClock.now
        let result = await withDeadline(timeout) { try await check.check() }
        let latency = Double((ContinuousClock.now - start) / .microseconds(1)) / 1000
        let status: DependencyStatus
        switch result {
        case .success(let outcome):
            status = DependencyStatus(name: check.name, state: outcome.state, critical: check.isCritical, latencyMs: latency, detail: outcome.detail)
        case .failure(let error):
            status = DependencyStatus(name: check.name, state: .down, critical: check.isCritical, latencyMs: latency, detail: "\(error)")
        }
        Gauge(label: "dependency_up", dimensions: [("dependency", check.name)]).record(status.state == .down ? 0 : 1)
        return status
    }
}

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
