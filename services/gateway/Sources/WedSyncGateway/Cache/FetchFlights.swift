import Foundation
import Synchronization
import WedSyncServiceKit

/// The upstream fetches of cacheable requests in flight, by key: concurrent requests for one key wait for one
/// fetch. And Varnish's hit-for-miss memo: keys whose last answer could not be stored go upstream at once, each on
/// its own, instead of queueing behind one another, for ``uncacheableFor``.
final class FetchFlights: Sendable {
    /// One fetch: its outcome and the time its upstream took.
    typealias Flight = Task<(FetchOutcome, Duration?), Never>

    /// The flight a request started: it, and only it, lets the key go (``release(_:)``).
    struct Lead: Sendable {
        let key: String
        let flight: Flight
    }

    static let uncacheableFor: TimeInterval = 10
    /// Past this many keys the memo is cleared rather than grown.
    static let memoLimit = 10_000

    private let running = Mutex<[String: Flight]>([:])
    private let uncacheable = Mutex<[String: Date]>([:])
    private let clock: any WallClock

    init(clock: any WallClock) {
        self.clock = clock
    }

    /// Runs `work` once for every concurrent request with `key`: the first starts it and gets the ``Lead`` (the
    /// upstream time is its alone), the others wait for its outcome. The key stays taken, so requests arriving later
    /// share the outcome too, until the lead is released.
    func join(_ key: String, work: @escaping @Sendable () async -> (FetchOutcome, Duration?)) async -> (
        outcome: FetchOutcome, upstream: Duration?, lead: Lead?
    ) {
        var lead: Lead?
        let flight = running.withLock { running -> Flight in
            if let flight = running[key] { return flight }
            let flight = Flight(executorPreference: EventLoopTaskExecutor.current) { await work() }
            running[key] = flight
            lead = Lead(key: key, flight: flight)
            return flight
        }
        let (outcome, upstream) = await flight.value
        return (outcome, lead == nil ? nil : upstream, lead)
    }

    /// Lets the lead's key go: the next request for it starts a fetch of its own.
    func release(_ lead: Lead) {
        running.withLock { running in
            if running[lead.key] == lead.flight { running[lead.key] = nil }
        }
    }

    /// Notes that `primary`'s answer could not be stored.
    func markUncacheable(_ primary: String) {
        let until = clock.now.addingTimeInterval(Self.uncacheableFor)
        uncacheable.withLock { memo in
            if memo.count > Self.memoLimit { memo.removeAll() }
            memo[primary] = until
        }
    }

    /// Whether `primary`'s last answer could not be stored, recently enough to go upstream directly.
    func isUncacheable(_ primary: String) -> Bool {
        let now = clock.now
        return uncacheable.withLock { memo in
            guard let until = memo[primary] else { return false }
            if until > now { return true }
            memo[primary] = nil
            return false
        }
    }
}
