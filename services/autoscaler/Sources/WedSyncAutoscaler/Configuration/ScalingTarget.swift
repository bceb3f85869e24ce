import Foundation
import WedSyncModels
import WedSyncServiceKit

/// One thing the autoscaler scales (the API replicas, the cache replicas): its bounds, the metrics that drive it,
/// how fast it may move, and the floors set ahead of time by schedules, the wedding calendar and the forecast.
public struct ScalingTarget: Sendable, Equatable {
    /// The target's name in the file (`api`, `cache`).
    public var name: String
    /// The gateway's upstream pool whose replicas this target adds and drains (the local actuator).
    public var pool: String
    /// The Kubernetes Deployment whose `scale` this target sets (the Kubernetes actuator).
    public var deployment: String
    public var minReplicas: Int
    public var maxReplicas: Int
    public var metrics: [MetricTarget]
    public var behavior: ScalingBehavior
    public var schedules: [ReplicaSchedule]
    public var calendar: CalendarFloor?
    public var predictive: PredictiveScaling

    public init(
        name: String,
        pool: String,
        deployment: String? = nil,
        minReplicas: Int,
        maxReplicas: Int,
        metrics: [MetricTarget],
        behavior: ScalingBehavior = .init(),
        schedules: [ReplicaSchedule] = [],
        calendar: CalendarFloor? = nil,
        predictive: PredictiveScaling = .init()
    ) {
        self.name = name
        self.pool = pool
        self.deployment = deployment ?? "wedsync-\(name)"
        self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas
        self.metrics = metrics
        self.behavior = behavior
        self.schedules = schedules
        self.calendar = calendar
        self.predictive = predictive
    }
}

/// A metric and the value per replica (or the value) the target aims to hold it at.
public struct MetricTarget: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Requests per second per ready replica (an average value: desired = ceil(total / target)).
        case requestsPerReplica = "requests-per-replica"
        /// The 95th percentile latency of the target's routes, milliseconds (a value: desired = ceil(current ×
        /// p95 / target)).
        case p95Latency = "p95-latency-ms"
        /// The share of database pool connections in use, 0...1.
        case poolUtilisation = "pool-utilisation"
        /// The share of a CPU in use per replica, 0...1.
        case cpu

        /// Whether the metric's figure is a total to divide among replicas rather than a ratio to the target.
        var isAverageValue: Bool { self == .requestsPerReplica }
    }

    public var kind: Kind
    public var target: Double
    /// Overrides the behaviour's tolerance for this metric (HPA since 1.33 has it per target).
    public var tolerance: Double?

    public init(kind: Kind, target: Double, tolerance: Double? = nil) {
        self.kind = kind
        self.target = target
        self.tolerance = tolerance
    }
}

/// How fast replicas may change, as `HorizontalPodAutoscaler` v2's `behavior`.
public struct ScalingBehavior: Sendable, Equatable {
    /// No change while every metric is within this share of its target.
    public var tolerance: Double
    public var scaleUp: ScalingRules
    public var scaleDown: ScalingRules

    /// HPA's defaults: tolerance 0.1; up at once by max(100%, 4 replicas) per 15 s; down after a 300 s window by
    /// up to 100% per 15 s.
    public init(
        tolerance: Double = 0.1,
        scaleUp: ScalingRules = .init(
            stabilization: .zero,
            select: .max,
            policies: [
                .init(kind: .percent, value: 100, period: .seconds(15)),
                .init(kind: .replicas, value: 4, period: .seconds(15)),
            ]
        ),
        scaleDown: ScalingRules = .init(
            stabilization: .seconds(300),
            select: .max,
            policies: [.init(kind: .percent, value: 100, period: .seconds(15))]
        )
    ) {
        self.tolerance = tolerance
        self.scaleUp = scaleUp
        self.scaleDown = scaleDown
    }
}

/// One direction's rules: a stabilization window and rate policies, as HPA's `HPAScalingRules`.
public struct ScalingRules: Sendable, Equatable {
    /// Which policy wins when several allow different changes.
    public enum Select: String, Sendable {
        /// The policy allowing the largest change.
        case max = "Max"
        /// The policy allowing the smallest change.
        case min = "Min"
        /// No change in this direction.
        case disabled = "Disabled"
    }

    /// Recommendations over this window are considered: scaling down takes their highest, scaling up their lowest.
    public var stabilization: Duration
    public var select: Select
    public var policies: [ScalingPolicy]

    public init(stabilization: Duration, select: Select, policies: [ScalingPolicy]) {
        self.stabilization = stabilization
        self.select = select
        self.policies = policies
    }
}

/// At most `value` replicas (or percent of the replicas at the period's start) per `period`.
public struct ScalingPolicy: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case replicas = "Pods"
        case percent = "Percent"
    }

    public var kind: Kind
    public var value: Int
    public var period: Duration

    public init(kind: Kind, value: Int, period: Duration) {
        self.kind = kind
        self.value = value
        self.period = period
    }
}

/// A replica floor between a start and an end cron in an IANA time zone, except on excluded dates (KEDA's cron
/// scaler, with the holidays its users ask for).
public struct ReplicaSchedule: Sendable, Equatable {
    public var name: String
    public var start: CronSchedule
    public var end: CronSchedule
    public var timeZone: TimeZone
    public var replicas: Int
    /// Local dates (in `timeZone`) on which the window does not open.
    public var excludedDates: Set<CalendarDay>

    public init(
        name: String,
        start: CronSchedule,
        end: CronSchedule,
        timeZone: TimeZone,
        replicas: Int,
        excludedDates: Set<CalendarDay> = []
    ) {
        self.name = name
        self.start = start
        self.end = end
        self.timeZone = timeZone
        self.replicas = replicas
        self.excludedDates = excludedDates
    }
}

/// Replicas from the bookings: the weddings under way or starting within the lead time, at `weddingsPerReplica`
/// each, and no scale-down while a ceremony is live.
public struct CalendarFloor: Sendable, Equatable {
    /// Where bookings come from: the API's calendar endpoint (path under `api.url`).
    public var path: String
    /// Weddings one replica carries on the day.
    public var weddingsPerReplica: Double
    /// How long before a wedding starts its replicas are in place.
    public var lead: Duration
    /// How long a wedding's day keeps its suppliers busy after its start hour.
    public var duration: Duration
    /// No scale-down while a wedding's ceremony window is live.
    public var freezeWhileLive: Bool
    /// How long after its start hour a wedding counts as live (the ceremony and what follows it).
    public var ceremonyWindow: Duration
    /// How often bookings are read again.
    public var refresh: Duration

    public init(
        path: String = "/v1/calendar/weddings",
        weddingsPerReplica: Double,
        lead: Duration = .seconds(7200),
        duration: Duration = .seconds(8 * 3600),
        freezeWhileLive: Bool = true,
        ceremonyWindow: Duration = .seconds(3 * 3600),
        refresh: Duration = .seconds(900)
    ) {
        self.ceremonyWindow = ceremonyWindow
        self.path = path
        self.weddingsPerReplica = weddingsPerReplica
        self.lead = lead
        self.duration = duration
        self.freezeWhileLive = freezeWhileLive
        self.refresh = refresh
    }
}

/// AWS-style predictive scaling from the metrics service's forecast.
public struct PredictiveScaling: Sendable, Equatable {
    public enum Mode: String, Sendable {
        case off
        /// Forecast and record what it would do; change nothing.
        case forecastOnly = "forecast-only"
        /// Raise the floor to the forecast's replicas a lead time ahead (never scale in on a forecast).
        case forecastAndScale = "forecast-and-scale"
    }

    public var mode: Mode
    /// The scheduling buffer: capacity for an hour is in place this long before it starts.
    public var lead: Duration
    /// How often the forecast is read again.
    public var refresh: Duration

    public init(mode: Mode = .off, lead: Duration = .seconds(300), refresh: Duration = .seconds(6 * 3600)) {
        self.mode = mode
        self.lead = lead
        self.refresh = refresh
    }
}

extension CalendarDay {
    /// The local date of `instant` in `timeZone`.
    public init(_ instant: Date, in timeZone: TimeZone) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: instant)
        self.init(year: parts.year!, month: parts.month!, day: parts.day!)!
    }
}
