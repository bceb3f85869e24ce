import Foundation
import WedSyncModels

/// Replays a request-rate trace through the decision loop and a queueing model of the replicas, and counts what
/// each policy costs (replica-minutes) and what it misses (minutes whose p95 is over the SLO).
///
/// Each tick (the decision interval) the loop sees what the metrics service would: the rate over the last minute
/// and the worst p95 of that minute. A replica it adds takes the start-up delay before it serves; one it removes
/// stops at once (drained). A minute violates the SLO when any of its ticks has a p95 over it.
public struct ReplaySimulator: Sendable {
    /// What the model measures the replicas by.
    public struct Settings: Sendable {
        public var model: ReplicaQueueModel
        public var startup: TimeInterval
        public var interval: TimeInterval
        /// The window the metrics are read over.
        public var window: TimeInterval
        /// The p95 a minute must stay under, seconds.
        public var slo: TimeInterval
        /// The Saturday-morning ramp, local hours in `rampZone`, reported apart.
        public var rampHours: Range<Int>
        public var rampZone: TimeZone

        public init(
            model: ReplicaQueueModel = .init(workers: 2, serviceTime: 0.004),
            startup: TimeInterval = 30,
            interval: TimeInterval = 15,
            window: TimeInterval = 60,
            slo: TimeInterval = 0.1,
            rampHours: Range<Int> = 6..<10,
            rampZone: TimeZone = TimeZone(identifier: "Europe/London")!
        ) {
            self.model = model
            self.startup = startup
            self.interval = interval
            self.window = window
            self.slo = slo
            self.rampHours = rampHours
            self.rampZone = rampZone
        }
    }

    public enum Policy: String, Sendable, CaseIterable {
        /// Metrics alone, as HorizontalPodAutoscaler.
        case hpa
        /// Metrics and the wedding calendar's floor and freeze.
        case calendar
        /// Metrics and a forecast floor from the same hour a week before (forecast-and-scale).
        case predictive
    }

    /// What one policy did over the trace.
    public struct Outcome: Sendable, Equatable {
        public var policy: String
        /// The requests-per-replica target and the minimum replicas it ran with.
        public var target: Double
        public var minReplicas: Int
        public var replicaMinutes: Double
        public var violationMinutes: Int
        public var rampViolationMinutes: Int
        public var peakReplicas: Int
        public var decisions: Int
    }

    public var settings: Settings
    public let trace: RateTrace
    public let bookings: [WeddingBooking]

    public init(settings: Settings = .init(), trace: RateTrace, bookings: [WeddingBooking]) {
        self.settings = settings
        self.trace = trace
        self.bookings = bookings.sorted { $0.start < $1.start }
    }

    /// The target as `policy` runs it: the metrics, bounds and behaviour of `base`, with the floors of the policy.
    public static func configure(_ base: ScalingTarget, for policy: Policy) -> ScalingTarget {
        var target = base
        target.schedules = []
        switch policy {
        case .hpa:
            target.calendar = nil
            target.predictive = .init(mode: .off)
        case .calendar:
            target.calendar = base.calendar ?? CalendarFloor(weddingsPerReplica: 150)
            target.predictive = .init(mode: .off)
        case .predictive:
            target.calendar = nil
            target.predictive = .init(mode: .forecastAndScale, lead: base.predictive.lead)
        }
        return target
    }

    /// Replays the trace under `target` configured for `policy`.
    public func run(_ policy: Policy, target base: ScalingTarget) -> Outcome {
        let target = Self.configure(base, for: policy)
        let rateTarget = target.metrics.first { $0.kind == .requestsPerReplica }?.target ?? 0
        var decider = ScalingDecider(target: target)
        decider.explains = false
        var readyAt: [Date] = Array(repeating: trace.start, count: max(target.minReplicas, 1))
        var recentRates: [Double] = []
        var recentP95: [Double] = []
        let window = max(1, Int((settings.window / settings.interval).rounded()))
        var replicaSeconds = 0.0
        var violations = 0
        var rampViolations = 0
        var peak = readyAt.count
        var decisions = 0
        var minuteViolated = false
        var minute = -1
        var bookingIndex = 0
        var rampCalendar = Calendar(identifier: .gregorian)
        rampCalendar.timeZone = settings.rampZone
        let lookahead = (target.calendar?.lead.seconds ?? 0)
        let lookback = max(target.calendar?.duration.seconds ?? 0, target.calendar?.ceremonyWindow.seconds ?? 0)
        let ticks = Int(trace.end.timeIntervalSince(trace.start) / settings.interval)
        func closeMinute(_ at: Date) {
            guard minuteViolated else { return }
            violations += 1
            let parts = rampCalendar.dateComponents([.weekday, .hour], from: at)
            if parts.weekday == 7, settings.rampHours.contains(parts.hour!) { rampViolations += 1 }
        }
        for tick in 0..<ticks {
            let now = trace.start.addingTimeInterval(Double(tick) * settings.interval)
            let thisMinute = Int(now.timeIntervalSince(trace.start) / 60)
            if thisMinute != minute {
                if minute >= 0 { closeMinute(now.addingTimeInterval(-60)) }
                minute = thisMinute
                minuteViolated = false
            }
            let rate = trace.rate(at: now)
            let ready = readyAt.filter { $0 <= now }.count
            let p95 = ready == 0 ? Double.infinity : settings.model.p95(rate: rate / Double(ready))
            if p95 > settings.slo { minuteViolated = true }
            replicaSeconds += Double(readyAt.count) * settings.interval
            recentRates.append(rate)
            recentP95.append(min(p95, 10))
            if recentRates.count > window {
                recentRates.removeFirst()
                recentP95.removeFirst()
            }
            var readings: [MetricTarget.Kind: MetricReading] = [:]
            for metric in target.metrics {
                switch metric.kind {
                case .requestsPerReplica:
                    readings[.requestsPerReplica] = .total(recentRates.reduce(0, +) / Double(recentRates.count))
                case .p95Latency: readings[.p95Latency] = .total(recentP95.max()! * 1000)
                case .cpu, .poolUtilisation: break
                }
            }
            var nearby: [WeddingBooking]?
            if target.calendar != nil {
                while bookingIndex < bookings.count, bookings[bookingIndex].start.addingTimeInterval(lookback) < now {
                    bookingIndex += 1
                }
                var slice: [WeddingBooking] = []
                var index = bookingIndex
                while index < bookings.count, bookings[index].start.addingTimeInterval(-lookahead) <= now {
                    slice.append(bookings[index])
                    index += 1
                }
                nearby = slice
            }
            let forecast =
                target.predictive.mode == .forecastAndScale ? weekAgoForecast(at: now, perReplica: rateTarget) : nil
            let decision = decider.decide(
                ScalingInputs(
                    now: now,
                    currentReplicas: readyAt.count,
                    readyReplicas: ready,
                    readings: readings,
                    bookings: nearby,
                    forecast: forecast
                )
            )
            decisions += 1
            if decision.desiredReplicas > readyAt.count {
                readyAt += Array(
                    repeating: now.addingTimeInterval(settings.startup),
                    count: decision.desiredReplicas - readyAt.count
                )
                peak = max(peak, readyAt.count)
            } else if decision.desiredReplicas < readyAt.count {
                // Those still starting go first.
                readyAt.sort()
                readyAt.removeLast(readyAt.count - decision.desiredReplicas)
            }
        }
        closeMinute(trace.start.addingTimeInterval(Double(minute) * 60))
        return Outcome(
            policy: policy.rawValue,
            target: rateTarget,
            minReplicas: target.minReplicas,
            replicaMinutes: replicaSeconds / 60,
            violationMinutes: violations,
            rampViolationMinutes: rampViolations,
            peakReplicas: peak,
            decisions: decisions
        )
    }

    /// The forecast a predictive policy has at `now`: each of the next two hours as busy as the same hour a week
    /// before (its peak), at `perReplica` requests per second a replica.
    func weekAgoForecast(at now: Date, perReplica: Double) -> [ForecastHour] {
        guard perReplica > 0 else { return [] }
        let hour = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 3600).rounded(.down) * 3600)
        return (0..<2).compactMap { offset in
            let start = hour.addingTimeInterval(Double(offset) * 3600)
            let weekAgo = start.addingTimeInterval(-7 * 86_400)
            guard weekAgo >= trace.start else { return nil }
            var peak = 0.0
            var at = weekAgo
            while at < weekAgo.addingTimeInterval(3600) {
                peak = max(peak, trace.rate(at: at))
                at = at.addingTimeInterval(trace.step)
            }
            return ForecastHour(start: start, replicas: Int((peak / perReplica).rounded(.up)))
        }
    }

    /// `policy` "set to the SLO": of the requests-per-replica targets and minimum replicas tried, the one with the
    /// fewest replica-minutes whose SLO-violation minutes are at most `violations` (the one with the fewest
    /// violations when none is). For each minimum it searches the targets by bisection, as a higher target never
    /// has fewer violations.
    public func tune(
        _ policy: Policy,
        _ base: ScalingTarget,
        atMost violations: Int,
        targets: [Double],
        minimums: [Int]
    ) -> Outcome {
        let targets = targets.sorted()
        var best: Outcome?
        var fallback: Outcome?
        func consider(_ outcome: Outcome) -> Bool {
            if outcome.violationMinutes <= violations {
                if best == nil || outcome.replicaMinutes < best!.replicaMinutes { best = outcome }
                return true
            }
            if fallback == nil || outcome.violationMinutes < fallback!.violationMinutes
                || (outcome.violationMinutes == fallback!.violationMinutes
                    && outcome.replicaMinutes < fallback!.replicaMinutes)
            {
                fallback = outcome
            }
            return false
        }
        for minimum in minimums {
            var low = 0
            var high = targets.count - 1
            while low <= high {
                let middle = (low + high) / 2
                var target = base
                target.minReplicas = max(minimum, 0)
                target.maxReplicas = max(target.maxReplicas, minimum)
                target.metrics = target.metrics.map {
                    $0.kind == .requestsPerReplica
                        ? MetricTarget(kind: $0.kind, target: targets[middle], tolerance: $0.tolerance) : $0
                }
                if consider(run(policy, target: target)) { low = middle + 1 } else { high = middle - 1 }
            }
        }
        return best ?? fallback!
    }
}
