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
            status = DependencyStatus(
                name: check.name,
                state: outcome.state,
                critical: check.isCritical,
                latencyMs: latency,
                detail: outcome.detail
            )
        case .failure(let error):
            status = DependencyStatus(
                name: check.name,
                state: .down,
                critical: check.isCritical,
                latencyMs: latency,
                detail: "\(error)"
            )
        }
        Gauge(label: "dependency_up", dimensions: [("dependency", check.name)]).record(status.state == .down ? 0 : 1)
        return status
    }
}
