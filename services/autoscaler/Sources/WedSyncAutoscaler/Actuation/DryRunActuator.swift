import Foundation
import Logging
import Synchronization

/// Changes nothing: it remembers the replicas each target was last set to (starting at its minimum, all ready) and
/// logs what it would have done, so the decisions can be watched before they act.
public final class DryRunActuator: ReplicaActuator {
    private let counts = Mutex<[String: Int]>([:])
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func replicas(of target: ScalingTarget) async throws(ActuatorError) -> ReplicaCount {
        let count = counts.withLock { $0[target.name] ?? target.minReplicas }
        return ReplicaCount(current: count, ready: count)
    }

    public func scale(_ target: ScalingTarget, to replicas: Int) async throws(ActuatorError) {
        let previous = counts.withLock { counts in
            defer { counts[target.name] = replicas }
            return counts[target.name] ?? target.minReplicas
        }
        logger.notice(
            "dry run: would scale",
            metadata: [
                "autoscaler.target": "\(target.name)", "autoscaler.from": "\(previous)", "autoscaler.to": "\(replicas)",
            ]
        )
    }
}
