import Foundation
import WedSyncModels

/// What the decision loop knows at one tick.
public struct ScalingInputs: Sendable {
    public var now: Date
    /// Replicas the target has (ready or starting).
    public var currentReplicas: Int
    public var readyReplicas: Int
    /// The metrics read; a configured metric absent here is missing.
    public var readings: [MetricTarget.Kind: MetricReading]
    /// `nil` when the calendar could not be read.
    public var bookings: [WeddingBooking]?
    /// `nil` when there is no forecast (yet).
    public var forecast: [ForecastHour]?

    public init(
        now: Date,
        currentReplicas: Int,
        readyReplicas: Int? = nil,
        readings: [MetricTarget.Kind: MetricReading],
        bookings: [WeddingBooking]? = nil,
        forecast: [ForecastHour]? = nil
    ) {
        self.now = now
        self.currentReplicas = currentReplicas
        self.readyReplicas = readyReplicas ?? currentReplicas
        self.readings = readings
        self.bookings = bookings
        self.forecast = forecast
    }
}

/// Decides one target's replicas each tick: HPA's replicas per metric (the highest wins), raised to the schedule,
/// calendar and forecast floors, bounded by the stabilization windows, the rate policies and the bounds, and held
/// while a wedding is live. A forecast only ever raises the floor, so nothing scales in on a forecast.
public struct ScalingDecider: Sendable {
    public let target: ScalingTarget
    /// How long a CPU figure from a new replica counts as not ready (HPA's `cpu-initialization-period`).
    public var cpuInitializationPeriod: Duration = .seconds(300)
    /// Whether decisions carry their sentence (a replay of months turns it off for speed).
    public var explains = true
    var history = ScalingHistory()

    public init(target: ScalingTarget) {
        self.target = target
    }

    public mutating func decide(_ inputs: ScalingInputs) -> ScalingDecision {
        let current = inputs.currentReplicas
        let behavior = target.behavior
        var missing: [String] = []
        var metricInputs: [ScalingDecision.MetricInput] = []
        var best: (replicas: Int, rule: ScalingDecision.Rule, reason: String)?
        let explains = self.explains
        func say(_ text: @autoclosure () -> String) -> String { explains ? text() : "" }
        func propose(_ replicas: Int, _ rule: ScalingDecision.Rule, _ reason: @autoclosure () -> String) {
            if best == nil || replicas > best!.replicas { best = (replicas, rule, say(reason())) }
        }

        for metric in target.metrics {
            let tolerance = metric.tolerance ?? behavior.tolerance
            guard let reading = inputs.readings[metric.kind] else {
                missing.append(metric.kind.rawValue)
                metricInputs.append(
                    .init(metric: metric.kind.rawValue, value: nil, target: metric.target, replicas: nil)
                )
                continue
            }
            let replicas: Int?
            switch reading {
            case .total(let value):
                replicas = ReplicaCalculator.desired(
                    current: current,
                    ready: inputs.readyReplicas,
                    total: value,
                    target: metric.target,
                    averageValue: metric.kind.isAverageValue,
                    tolerance: tolerance
                )
            case .perReplica(let samples):
                replicas = ReplicaCalculator.desired(
                    current: current,
                    samples: samples,
                    target: metric.target,
                    tolerance: tolerance,
                    initializationPeriod: metric.kind == .cpu ? cpuInitializationPeriod : nil
                )
            }
            let shown = reading.shown
            metricInputs.append(
                .init(metric: metric.kind.rawValue, value: shown, target: metric.target, replicas: replicas)
            )
            guard let replicas else {
                missing.append(metric.kind.rawValue)
                continue
            }
            func figure() -> String {
                let value = shown.map { Self.format($0) } ?? "?"
                guard metric.kind.isAverageValue else { return value }
                return "\(value) (\(Self.format((shown ?? 0) / Double(max(current, 1)))) a replica)"
            }
            if replicas == current {
                propose(
                    replicas,
                    .tolerance,
                    "\(replicas) replicas: \(metric.kind.rawValue) at \(figure()) is within \(Self.format(tolerance * 100))% of its target \(Self.format(metric.target))"
                )
            } else {
                propose(
                    replicas,
                    .metric,
                    "\(replicas) replicas: \(metric.kind.rawValue) at \(figure()) against a target of \(Self.format(metric.target))"
                )
            }
        }
        if best == nil {
            propose(current, .missingMetric, "\(current) replicas: no metric could be read")
        }
        // A metric that could not be read counts as at its target: it holds a scale-down, never causes one.
        if !missing.isEmpty, best!.replicas < current {
            best = (
                current, .missingMetric,
                say("held at \(current): \(missing.joined(separator: ", ")) could not be read, so no scale-down")
            )
        }

        var scheduleFloor = 0
        var activeSchedules: [String] = []
        for schedule in target.schedules where schedule.isActive(at: inputs.now) {
            activeSchedules.append(schedule.name)
            scheduleFloor = max(scheduleFloor, schedule.replicas)
            propose(
                schedule.replicas,
                .schedule,
                "\(schedule.replicas) replicas: schedule \(schedule.name) (\(schedule.start) to \(schedule.end), \(schedule.timeZone.identifier))"
            )
        }

        var calendarFloor = 0
        var weddingsInPlay = 0
        var liveZones: [String] = []
        if let calendar = target.calendar {
            if let bookings = inputs.bookings {
                let (weddings, first) = calendar.inPlay(bookings, at: inputs.now)
                weddingsInPlay = weddings
                calendarFloor = calendar.replicas(bookings, at: inputs.now)
                liveZones = calendar.liveZones(bookings, at: inputs.now)
                if calendarFloor > 0, let first {
                    propose(
                        calendarFloor,
                        .calendar,
                        "\(calendarFloor) replicas: \(weddings) weddings on \(Self.day(first.start, first.timeZone)), \(Self.span(calendar.lead)) lead"
                    )
                }
            } else {
                missing.append("calendar")
                if best!.replicas < current {
                    best = (
                        current, .missingMetric,
                        say("held at \(current): the wedding calendar could not be read, so no scale-down")
                    )
                }
            }
        }

        var forecastFloor = 0
        let forecastApplied = target.predictive.mode == .forecastAndScale
        var forecastNote = ""
        if target.predictive.mode != .off {
            if let forecast = inputs.forecast {
                let (replicas, hour) = target.predictive.replicas(forecast, at: inputs.now)
                forecastFloor = replicas
                if let hour, replicas > 0 {
                    let lead = target.predictive.lead
                    func sentence() -> String {
                        "forecast \(replicas) for the hour from \(Self.hour(hour.start)), \(Self.span(lead)) lead"
                    }
                    if forecastApplied {
                        propose(replicas, .forecast, "\(replicas) replicas: \(sentence())")
                    } else {
                        forecastNote = say(" (forecast-only: \(sentence()))")
                    }
                }
            } else {
                missing.append("forecast")
            }
        }

        var (desired, rule, reason) = best!
        if desired > target.maxReplicas {
            (rule, reason) = (.maxReplicas, say("\(target.maxReplicas) replicas: the maximum (\(reason))"))
            desired = target.maxReplicas
        } else if desired < target.minReplicas {
            (rule, reason) = (.minReplicas, say("\(target.minReplicas) replicas: the minimum (\(reason))"))
            desired = target.minReplicas
        }

        let stabilized = history.stabilize(desired, current: current, behavior: behavior, now: inputs.now)
        if stabilized != desired {
            let window = stabilized > desired ? behavior.scaleDown.stabilization : behavior.scaleUp.stabilization
            (rule, reason) = (
                .stabilization,
                say(
                    "\(stabilized) replicas: the \(Self.span(window)) stabilization window holds a recommendation of \(stabilized) (now \(desired))"
                )
            )
            desired = stabilized
        }

        if desired > current {
            let limit = min(
                target.maxReplicas,
                history.scaleUpLimit(current: current, rules: behavior.scaleUp, now: inputs.now)
            )
            if desired > limit {
                (rule, reason) = (
                    .scaleUpPolicy,
                    say(
                        "\(limit) replicas: the scale-up policies allow \(limit) of the \(desired) asked for (\(reason))"
                    )
                )
                desired = limit
            }
        } else if desired < current {
            let limit = max(
                target.minReplicas,
                history.scaleDownLimit(current: current, rules: behavior.scaleDown, now: inputs.now)
            )
            if desired < limit {
                (rule, reason) = (
                    .scaleDownPolicy,
                    say(
                        "\(limit) replicas: the scale-down policies allow \(limit) of the \(desired) asked for (\(reason))"
                    )
                )
                desired = limit
            }
        }

        if desired < current, target.calendar?.freezeWhileLive == true, !liveZones.isEmpty {
            (rule, reason) = (
                .liveWeddingFreeze,
                say(
                    "held at \(current): weddings are live in \(liveZones.joined(separator: ", ")), no scale-down until they end (asked for \(desired))"
                )
            )
            desired = current
        }

        history.record(change: desired - current, at: inputs.now, keep: Self.longestPeriod(behavior))
        return ScalingDecision(
            target: target.name,
            at: inputs.now,
            currentReplicas: current,
            desiredReplicas: desired,
            rule: rule,
            reason: explains ? reason + forecastNote : "",
            inputs: .init(
                readyReplicas: inputs.readyReplicas,
                metrics: metricInputs,
                scheduleFloor: scheduleFloor,
                schedules: activeSchedules,
                calendarFloor: calendarFloor,
                weddingsInPlay: weddingsInPlay,
                forecastFloor: forecastFloor,
                forecastApplied: forecastApplied,
                liveZones: liveZones,
                missing: missing
            )
        )
    }

    static func longestPeriod(_ behavior: ScalingBehavior) -> Duration {
        (behavior.scaleUp.policies + behavior.scaleDown.policies).map(\.period).max() ?? .seconds(15)
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(format: "%.2f", value)
    }

    static func span(_ duration: Duration) -> String {
        let seconds = Int(duration.seconds)
        if seconds % 3600 == 0 { return "\(seconds / 3600) h" }
        if seconds % 60 == 0 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }

    static func day(_ instant: Date, _ zone: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB")
        formatter.timeZone = TimeZone(identifier: zone) ?? TimeZone(identifier: "UTC")!
        formatter.dateFormat = "d MMMM"
        return formatter.string(from: instant)
    }

    static func hour(_ instant: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB")
        formatter.timeZone = TimeZone(identifier: "UTC")!
        formatter.dateFormat = "HH:mm 'UTC' d MMMM"
        return formatter.string(from: instant)
    }
}
