import Histogram
import Synchronization

/// What one request came to.
public struct Outcome: Sendable {
    /// Its template's index in the mix.
    public var template: Int
    /// From its intended start to the end of its answer.
    public var latency: Duration
    /// The answer's status; 0 when there was none (refused, reset, timed out).
    public var status: Int
    /// Body bytes received.
    public var bytes: Int

    public init(template: Int, latency: Duration, status: Int, bytes: Int) {
        self.template = template
        self.latency = latency
        self.status = status
        self.bytes = bytes
    }

    /// No answer, or an error status.
    public var failed: Bool { status == 0 || status >= 400 }
}

/// The figures of one series of requests: an HdrHistogram of latencies in microseconds (3 significant digits, up to
/// an hour), with counts.
public struct LatencySeries: Sendable {
    public var histogram = Histogram<UInt64>(
        lowestDiscernibleValue: 1,
        highestTrackableValue: 3_600_000_000,
        numberOfSignificantValueDigits: .three
    )
    public var requests = 0
    public var failures = 0
    public var bytes = 0
    /// Requests by answer status (0: no answer).
    public var statuses: [Int: Int] = [:]

    public init() {}

    mutating func add(_ outcome: Outcome, countingStatuses: Bool = true) {
        let micros = max(
            1,
            outcome.latency.components.seconds * 1_000_000 + outcome.latency.components.attoseconds
                / 1_000_000_000_000
        )
        _ = histogram.record(UInt64(micros))
        requests += 1
        if outcome.failed { failures += 1 }
        bytes += outcome.bytes
        if countingStatuses { statuses[outcome.status, default: 0] += 1 }
    }

    mutating func add(_ other: LatencySeries) {
        histogram.add(other.histogram)
        requests += other.requests
        failures += other.failures
        bytes += other.bytes
        for (status, count) in other.statuses { statuses[status, default: 0] += count }
    }

    /// The latency at `percentile` (0 to 100), in milliseconds.
    public func milliseconds(at percentile: Double) -> Double {
        requests == 0 ? 0 : Double(histogram.valueAtPercentile(percentile)) / 1000
    }

    public var meanMilliseconds: Double { requests == 0 ? 0 : histogram.mean / 1000 }
    public var maxMilliseconds: Double { requests == 0 ? 0 : Double(histogram.max) / 1000 }
    public var failureRate: Double { requests == 0 ? 0 : Double(failures) / Double(requests) }
}

/// Every outcome of a run, per endpoint and overall, plus an interval series emptied each time it is read (for the
/// live line and the per-second points). Safe to record into from every connection at once.
public final class LatencyRecorder: Sendable {
    private struct State {
        var endpoints: [LatencySeries]
        var interval = LatencySeries()
    }

    public let endpoints: [String]
    private let state: Mutex<State>

    public init(endpoints: [String]) {
        self.endpoints = endpoints
        state = Mutex(State(endpoints: endpoints.map { _ in LatencySeries() }))
    }

    public func record(_ outcome: Outcome) {
        state.withLock { state in
            state.endpoints[outcome.template].add(outcome)
            state.interval.add(outcome, countingStatuses: false)
        }
    }

    /// The series since the last call, and a new one begun.
    public func takeInterval() -> LatencySeries {
        state.withLock { state in
            defer { state.interval = LatencySeries() }
            return state.interval
        }
    }

    /// Each endpoint's series, by name.
    public var series: [(name: String, series: LatencySeries)] {
        let all = state.withLock { $0.endpoints }
        return zip(endpoints, all).map { ($0, $1) }
    }

    /// Every endpoint's series together.
    public var overall: LatencySeries {
        state.withLock { state in
            var total = LatencySeries()
            for series in state.endpoints { total.add(series) }
            return total
        }
    }
}
