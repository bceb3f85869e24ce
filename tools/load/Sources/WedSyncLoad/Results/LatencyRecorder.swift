import Histogram
import Synchronization

/// What one request came to.
public struct Outcome: Sendable {
    /// Its template's index in the mix.
    public var template: Int
    /// From its intended start to the end of its answer.
    public var latency: Duration
    /// From its first byte on the wire to the end of its answer: what the server's own timing can be compared with
    /// (the latency less any wait for a connection, or to connect).
    public var wireLatency: Duration
    /// The answer's status; 0 when there was none (refused, reset, timed out).
    public var status: Int
    /// Body bytes received.
    public var bytes: Int

    /// The server's own time for it, when it said (`x-response-time`).
    public var serverTime: Duration?

    public init(
        template: Int,
        latency: Duration,
        wireLatency: Duration? = nil,
        serverTime: Duration? = nil,
        status: Int,
        bytes: Int
    ) {
        self.template = template
        self.latency = latency
        self.wireLatency = wireLatency ?? latency
        self.serverTime = serverTime
        self.status = status
        self.bytes = bytes
    }

    /// No answer, or an error status.
    public var failed: Bool { status == 0 || status >= 400 }
}

/// The figures of one series of requests: an HdrHistogram of latencies in microseconds (3 significant digits, up to
/// an hour), with counts.
public struct LatencySeries: Sendable {
    public var histogram = Self.makeHistogram()
    /// The same requests' ``Outcome/wireLatency``.
    public var wireHistogram = Self.makeHistogram()
    public var requests = 0
    public var failures = 0
    public var bytes = 0
    /// Requests by answer status (0: no answer).
    public var statuses: [Int: Int] = [:]

    public init() {}

    static func makeHistogram() -> Histogram<UInt64> {
        Histogram(
            lowestDiscernibleValue: 1,
            highestTrackableValue: 3_600_000_000,
            numberOfSignificantValueDigits: .three
        )
    }

    static func microseconds(_ duration: Duration) -> UInt64 {
        UInt64(max(1, duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000))
    }

    mutating func add(_ outcome: Outcome, countingStatuses: Bool = true) {
        _ = histogram.record(Self.microseconds(outcome.latency))
        _ = wireHistogram.record(Self.microseconds(outcome.wireLatency))
        requests += 1
        if outcome.failed { failures += 1 }
        bytes += outcome.bytes
        if countingStatuses { statuses[outcome.status, default: 0] += 1 }
    }

    mutating func add(_ other: LatencySeries) {
        histogram.add(other.histogram)
        wireHistogram.add(other.wireHistogram)
        requests += other.requests
        failures += other.failures
        bytes += other.bytes
        for (status, count) in other.statuses { statuses[status, default: 0] += count }
    }

    /// The latency at `percentile` (0 to 100), in milliseconds.
    public func milliseconds(at percentile: Double) -> Double {
        requests == 0 ? 0 : Double(histogram.valueAtPercentile(percentile)) / 1000
    }

    /// The latency on the wire at `percentile`, in milliseconds.
    public func wireMilliseconds(at percentile: Double) -> Double {
        requests == 0 ? 0 : Double(wireHistogram.valueAtPercentile(percentile)) / 1000
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
        var hops = LatencySeries.makeHistogram()
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
            if let serverTime = outcome.serverTime {
                _ = state.hops.record(LatencySeries.microseconds(outcome.wireLatency - serverTime))
            }
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

    /// What each answer that gave the server's own time took besides it (its time on the wire less the server's):
    /// the network and the server's framework around its timer. In microseconds.
    public var hops: Histogram<UInt64> {
        state.withLock { $0.hops }
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
