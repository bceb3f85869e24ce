import Foundation
import Synchronization
import WedSyncModels

/// One replica of an upstream pool and everything the balancer knows of it: requests in flight, a peak-EWMA of its
/// latency, its active health, and its circuit (closed, open after consecutive failures, half-open with one trial
/// request at a time).
public final class Replica: Sendable {
    public let address: UpstreamAddress

    enum Circuit: Equatable {
        case closed
        case open(until: ContinuousClock.Instant)
        case halfOpen(trialInFlight: Bool)
    }

    struct State {
        var outstanding = 0
        /// Peak EWMA of the time to the response head, seconds; `nil` before the first response.
        var latency: Double?
        var lastSample = ContinuousClock.now
        var requests = 0
        var failures = 0
        var consecutiveFailures = 0
        var ejections = 0
        var ejectionsInARow = 0
        var circuit = Circuit.closed
        var healthy = true
        var healthFailures = 0
        var healthPasses = 0
        var draining = false
    }

    /// How a request may use this replica now.
    enum Admission {
        case normal
        /// The circuit is half-open: this request is its trial.
        case trial
        case refused
    }

    private let state = Mutex(State())
    /// The decay time of the latency average (Finagle's peak EWMA uses 10 s).
    static let decay = 10.0
    /// The latency assumed for a replica that has not answered yet: low, so a new replica gets traffic at once.
    static let initialLatency = 0.001

    init(address: UpstreamAddress) {
        self.address = address
    }

    /// Outstanding requests weighted by latency: the lower, the better a pick.
    var load: Double {
        state.withLock { state in (state.latency ?? Self.initialLatency) * Double(state.outstanding + 1) }
    }

    var isDraining: Bool { state.withLock(\.draining) }
    var outstanding: Int { state.withLock(\.outstanding) }

    /// Whether the balancer may pick it, short of a panic: healthy, not draining, its circuit not open.
    func isEligible(at now: ContinuousClock.Instant) -> Bool {
        state.withLock { state in
            guard state.healthy, !state.draining else { return false }
            switch state.circuit {
            case .closed: return true
            case .open(let until): return now >= until
            case .halfOpen(let trialInFlight): return !trialInFlight
            }
        }
    }

    /// Starts a request on it: counts it in flight and, when the circuit is half-open, makes it the trial.
    /// `force` takes it even when refused (every replica is out: the pool panics rather than fail everything).
    func begin(at now: ContinuousClock.Instant, force: Bool = false) -> Admission {
        state.withLock { state in
            var admission = Admission.normal
            switch state.circuit {
            case .closed: break
            case .open(let until) where now >= until:
                state.circuit = .halfOpen(trialInFlight: true)
                admission = .trial
            case .halfOpen(trialInFlight: false):
                state.circuit = .halfOpen(trialInFlight: true)
                admission = .trial
            case .open, .halfOpen:
                admission = .refused
            }
            guard admission != .refused || force else { return .refused }
            state.outstanding += 1
            state.requests += 1
            return admission == .refused ? .normal : admission
        }
    }

    /// Ends a request whose body is done: records its outcome and releases it.
    func finish(
        latency: Duration?,
        failed: Bool,
        at now: ContinuousClock.Instant,
        configuration: UpstreamPoolConfiguration
    ) {
        record(latency: latency, failed: failed, at: now, configuration: configuration)
        release()
    }

    /// The request's body is done (or was never started): it no longer counts as in flight.
    func release() {
        state.withLock { $0.outstanding = max(0, $0.outstanding - 1) }
    }

    /// A request given up by its caller (the client went away): it says nothing of the replica, and a trial it was
    /// lets the next request be the trial.
    func abandon(_ admission: Admission) {
        state.withLock { state in
            state.outstanding = max(0, state.outstanding - 1)
            if admission == .trial, case .halfOpen = state.circuit { state.circuit = .halfOpen(trialInFlight: false) }
        }
    }

    /// Records a request's outcome at its response head: `latency` the time to it (`nil` when there was none),
    /// `failed` whether it counts against the replica (connection error, timeout, 5xx).
    func record(
        latency: Duration?,
        failed: Bool,
        at now: ContinuousClock.Instant,
        configuration: UpstreamPoolConfiguration
    ) {
        state.withLock { state in
            if let latency {
                let sample = Double(latency / .nanoseconds(1)) / 1e9
                let elapsed = Double((now - state.lastSample) / .nanoseconds(1)) / 1e9
                let weight = exp(-max(0, elapsed) / Self.decay)
                if let current = state.latency {
                    state.latency = sample > current ? sample : current * weight + sample * (1 - weight)
                } else {
                    state.latency = sample
                }
                state.lastSample = now
            }
            if failed {
                state.failures += 1
                state.consecutiveFailures += 1
                let reopen: Bool
                switch state.circuit {
                case .halfOpen: reopen = true
                case .closed: reopen = state.consecutiveFailures >= configuration.consecutiveFailures
                case .open: reopen = false
                }
                if reopen {
                    state.ejections += 1
                    state.ejectionsInARow += 1
                    let factor = Double(1 << min(state.ejectionsInARow - 1, 16))
                    let time = min(configuration.ejectionTime * factor, configuration.maximumEjectionTime)
                    state.circuit = .open(until: now + time)
                }
            } else {
                state.consecutiveFailures = 0
                if case .halfOpen = state.circuit {
                    state.circuit = .closed
                    state.ejectionsInARow = 0
                }
            }
        }
    }

    /// Records an active health check's result.
    func recordHealth(passed: Bool, configuration: UpstreamPoolConfiguration) {
        state.withLock { state in
            if passed {
                state.healthFailures = 0
                state.healthPasses += 1
                if state.healthPasses >= configuration.healthyThreshold { state.healthy = true }
            } else {
                state.healthPasses = 0
                state.healthFailures += 1
                if state.healthFailures >= configuration.unhealthyThreshold { state.healthy = false }
            }
        }
    }

    func startDraining() {
        state.withLock { $0.draining = true }
    }

    func status(at now: ContinuousClock.Instant) -> UpstreamReplicaStatus {
        state.withLock { state in
            let name: String
            if state.draining {
                name = "draining"
            } else if !state.healthy {
                name = "unhealthy"
            } else {
                switch state.circuit {
                case .closed: name = "healthy"
                case .open(let until): name = now >= until ? "probing" : "ejected"
                case .halfOpen: name = "probing"
                }
            }
            return UpstreamReplicaStatus(
                address: address.address,
                state: name,
                outstanding: state.outstanding,
                latencyMs: (state.latency ?? 0) * 1000,
                requests: state.requests,
                failures: state.failures,
                consecutiveFailures: state.consecutiveFailures,
                ejections: state.ejections
            )
        }
    }
}

/// A request's hold on its replica while the response body streams: released once, when the body is done or when
/// the last copy of the response is dropped, so draining waits for streaming bodies too.
final class ReplicaLease: Sendable {
    let replica: Replica
    private let released = Atomic(false)

    init(_ replica: Replica) {
        self.replica = replica
    }

    func release() {
        if !released.exchange(true, ordering: .acquiringAndReleasing) { replica.release() }
    }

    deinit {
        release()
    }
}
