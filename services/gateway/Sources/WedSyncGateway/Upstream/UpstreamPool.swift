import Foundation
import Synchronization
import WedSyncModels

/// A named set of replicas the balancer picks from: power of two choices on outstanding requests weighted by
/// latency, among the replicas that are healthy, not draining and whose circuit lets a request through. When none
/// is, it panics and picks among all that are not draining (as Envoy does below its panic threshold) rather than
/// fail every request, and a retry then goes to any replica not tried yet.
public final class UpstreamPool: Sendable {
    public let configuration: UpstreamPoolConfiguration
    public var name: String { configuration.name }

    private struct Budget {
        var windowStart = ContinuousClock.now
        var requests = 0
        var retries = 0
        var refused = 0
        /// Since start, for the status (the window's counts reset every ``UpstreamPool/budgetWindow``).
        var totalRetries = 0
        var totalRefused = 0
    }

    private let replicas: Mutex<[Replica]>
    private let budget = Mutex(Budget())
    static let budgetWindow = Duration.seconds(10)

    public init(configuration: UpstreamPoolConfiguration) {
        self.configuration = configuration
        self.replicas = Mutex(configuration.replicas.map { Replica(address: $0) })
    }

    var members: [Replica] { replicas.withLock { $0 } }

    /// Picks a replica for a request, avoiding `tried` (the replicas an earlier attempt failed on), and starts
    /// the request on it. `nil` when the pool has no replica that takes requests, or (for a retry) none that was
    /// not tried already: a retry goes to another replica or not at all.
    func pick(excluding tried: Set<String> = [], now: ContinuousClock.Instant = .now) -> (Replica, Replica.Admission)? {
        let all = members.filter { !$0.isDraining }
        guard !all.isEmpty else { return nil }
        let eligible = all.filter { $0.isEligible(at: now) }
        // In a panic the health signal is not trusted: every replica is a candidate, for a retry too.
        let panic = eligible.isEmpty
        let pickable = panic ? all : eligible
        let untried = pickable.filter { !tried.contains($0.address.address) }
        if !tried.isEmpty, untried.isEmpty { return nil }
        let candidates = !untried.isEmpty ? untried : pickable
        for _ in 0..<3 {
            let choice: Replica
            if candidates.count == 1 {
                choice = candidates[0]
            } else {
                let first = Int.random(in: 0..<candidates.count)
                var second = Int.random(in: 0..<(candidates.count - 1))
                if second >= first { second += 1 }
                let (a, b) = (candidates[first], candidates[second])
                choice = a.load <= b.load ? a : b
            }
            let admission = choice.begin(at: now, force: panic)
            if admission != .refused { return (choice, admission) }
        }
        // Lost every race for a half-open trial: take the least loaded closed one, or any in a panic.
        let fallback = candidates.min { $0.load < $1.load }!
        return (fallback, fallback.begin(at: now, force: true))
    }

    /// Whether a replica not in `tried` could take a retry now: an eligible one, or in a panic (none is
    /// eligible) any that is not draining.
    func hasAlternative(to tried: Set<String>, now: ContinuousClock.Instant = .now) -> Bool {
        let open = members.filter { !$0.isDraining }
        let eligible = open.filter { $0.isEligible(at: now) }
        return (eligible.isEmpty ? open : eligible).contains { !tried.contains($0.address.address) }
    }

    /// Counts a first attempt in the retry budget's window.
    func recordRequest() {
        budget.withLock { budget in
            rollWindow(&budget)
            budget.requests += 1
        }
    }

    /// Whether the budget allows one more retry now (and counts it if so).
    func allowRetry() -> Bool {
        budget.withLock { budget in
            rollWindow(&budget)
            let allowed =
                Double(budget.retries) < Double(configuration.minimumRetries) + configuration.retryBudget
                * Double(budget.requests)
            if allowed {
                budget.retries += 1
                budget.totalRetries += 1
            } else {
                budget.refused += 1
                budget.totalRefused += 1
            }
            return allowed
        }
    }

    private func rollWindow(_ budget: inout Budget) {
        let now = ContinuousClock.now
        if now - budget.windowStart > Self.budgetWindow {
            budget = Budget(windowStart: now, totalRetries: budget.totalRetries, totalRefused: budget.totalRefused)
        }
    }

    // MARK: Membership

    /// Adds a replica (or stops draining it). Returns whether it was new.
    @discardableResult
    public func add(_ address: UpstreamAddress) -> Bool {
        replicas.withLock { replicas in
            if let index = replicas.firstIndex(where: { $0.address.address == address.address }) {
                guard replicas[index].isDraining else { return false }
                replicas[index] = Replica(address: address)
                return false
            }
            replicas.append(Replica(address: address))
            return true
        }
    }

    /// Stops sending new requests to the replica at `address`, waits for its in-flight requests to finish (up to
    /// the drain timeout) and removes it. `false` when there is no such replica.
    public func drain(_ address: String) async -> Bool {
        guard let replica = members.first(where: { $0.address.address == address }) else { return false }
        replica.startDraining()
        let deadline = ContinuousClock.now + configuration.drainTimeout
        while replica.outstanding > 0, ContinuousClock.now < deadline {
            // Cancelled (the service stops): remove it now rather than spin until the deadline.
            do { try await Task.sleep(for: .milliseconds(20)) } catch { break }
        }
        replicas.withLock { replicas in replicas.removeAll { $0 === replica } }
        return true
    }

    public func status(now: ContinuousClock.Instant = .now) -> UpstreamPoolStatus {
        let (retries, refused) = budget.withLock { ($0.totalRetries, $0.totalRefused) }
        return UpstreamPoolStatus(
            name: name,
            replicas: members.map { $0.status(at: now) },
            retries: retries,
            retriesRefused: refused
        )
    }
}
