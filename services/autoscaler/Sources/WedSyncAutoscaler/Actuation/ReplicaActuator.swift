import Foundation

/// The replicas a target has: all that run or start, and those that are ready.
public struct ReplicaCount: Sendable, Equatable {
    public var current: Int
    public var ready: Int

    public init(current: Int, ready: Int) {
        self.current = current
        self.ready = ready
    }
}

/// Why an actuator could not read or set a target's replicas. It names what failed and never carries a token.
public struct ActuatorError: Error, Sendable, CustomStringConvertible {
    public var target: String
    public var message: String

    public init(target: String, message: String) {
        self.target = target
        self.message = message
    }

    public var description: String { "\(target): \(message)" }
}

/// What turns a decision into replicas: local processes, a Kubernetes Deployment's scale, or nothing (dry-run).
public protocol ReplicaActuator: Sendable {
    /// The target's replicas now.
    func replicas(of target: ScalingTarget) async throws(ActuatorError) -> ReplicaCount
    /// Sets the target's replicas; scaling down drains before it stops anything.
    func scale(_ target: ScalingTarget, to replicas: Int) async throws(ActuatorError)
    /// Called once the decision loop has stopped: releases what the actuator holds (the local one drains and stops
    /// the replicas it started).
    func shutdown() async
}

extension ReplicaActuator {
    public func shutdown() async {}
}
