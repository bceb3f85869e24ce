import Foundation
import WedSyncModels
import WedSyncServiceKit
import Yams

/// The autoscaling file (`autoscaler.file`, e.g. `infrastructure/autoscaling.yaml`): the decision interval and one
/// block per target. A field that is wrong stops the service at start, named by its path
/// (`targets.api.behavior.scale-up.policies[1].value`).
///
/// ```yaml
/// interval-seconds: 15
/// targets:
///   api:
///     pool: api
///     min-replicas: 1
///     max-replicas: 8
///     metrics: [{type: requests-per-replica, target: 150}]
///     behavior: {scale-down: {stabilization-seconds: 300}}
///     schedules: [{name: saturday, start: "0 7 * * SAT", end: "0 23 * * SAT", time-zone: Europe/London, replicas: 3}]
///     calendar: {weddings-per-replica: 40, lead-minutes: 120}
///     predictive: {mode: forecast-only}
/// ```
public struct AutoscalingFile: Sendable, Equatable {
    public var interval: Duration
    public var targets: [ScalingTarget]

    public init(interval: Duration = .seconds(15), targets: [ScalingTarget]) {
        self.interval = interval
        self.targets = targets
    }

    static let key = "autoscaler.file"

    /// Reads and checks the file at `path`.
    public static func load(path: String) throws(ConfigurationError) -> AutoscalingFile {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(key: key, message: "cannot read \(path)")
        }
        return try parse(text)
    }

    /// Parses and checks the file's text.
    public static func parse(_ text: String) throws(ConfigurationError) -> AutoscalingFile {
        let root: Any?
        do {
            root = try Yams.load(yaml: text)
        } catch {
            throw ConfigurationError(key: key, message: "the YAML does not parse")
        }
        do throws(FieldError) {
            var reader = try FieldReader(root, path: "")
            let interval = try reader.seconds("interval-seconds", in: 1...3600) ?? .seconds(15)
            var targets: [ScalingTarget] = []
            let blocks = try reader.map("targets")
            guard let blocks, !blocks.isEmpty else {
                throw FieldError(path: "targets", message: "at least one target is needed")
            }
            for (name, value) in blocks.sorted(by: { $0.key < $1.key }) {
                var block = try FieldReader(value, path: "targets.\(name)")
                targets.append(try target(name, &block))
                try block.finish()
            }
            try reader.finish()
            return AutoscalingFile(interval: interval, targets: targets)
        } catch {
            throw ConfigurationError(key: key, message: error.description)
        }
    }

    static func target(_ name: String, _ block: inout FieldReader) throws(FieldError) -> ScalingTarget {
        let minimum = try block.int("min-replicas", in: 0...10_000) ?? 1
        let maximum = try block.required(block.int("max-replicas", in: 1...10_000), "max-replicas")
        guard maximum >= minimum else {
            throw FieldError(path: block.path("max-replicas"), message: "must be at least min-replicas (\(minimum))")
        }
        var metrics: [MetricTarget] = []
        for (index, value) in (try block.list("metrics") ?? []).enumerated() {
            var metric = try FieldReader(value, path: block.path("metrics[\(index)]"))
            let type = try metric.required(metric.string("type"), "type")
            guard let kind = MetricTarget.Kind(rawValue: type) else {
                throw FieldError(
                    path: metric.path("type"),
                    message:
                        "\(type) is not one of \(MetricTarget.Kind.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            let target = try metric.required(metric.double("target", in: 0.000_001...1e9), "target")
            if kind == .cpu || kind == .poolUtilisation, target > 1 {
                throw FieldError(path: metric.path("target"), message: "a share: must be in 0...1")
            }
            let tolerance = try metric.double("tolerance", in: 0...1)
            try metric.finish()
            metrics.append(MetricTarget(kind: kind, target: target, tolerance: tolerance))
        }
        var behavior = ScalingBehavior()
        if let value = try block.value("behavior") {
            var section = try FieldReader(value, path: block.path("behavior"))
            behavior.tolerance = try section.double("tolerance", in: 0...1) ?? behavior.tolerance
            if let up = try section.value("scale-up") {
                var rules = try FieldReader(up, path: section.path("scale-up"))
                behavior.scaleUp = try Self.rules(&rules, defaults: behavior.scaleUp)
            }
            if let down = try section.value("scale-down") {
                var rules = try FieldReader(down, path: section.path("scale-down"))
                behavior.scaleDown = try Self.rules(&rules, defaults: behavior.scaleDown)
            }
            try section.finish()
        }
        var schedules: [ReplicaSchedule] = []
        for (index, value) in (try block.list("schedules") ?? []).enumerated() {
            var entry = try FieldReader(value, path: block.path("schedules[\(index)]"))
            schedules.append(try schedule(&entry, index: index))
            try entry.finish()
        }
        var calendar: CalendarFloor?
        if let value = try block.value("calendar") {
            var section = try FieldReader(value, path: block.path("calendar"))
            let perReplica = try section.required(
                section.double("weddings-per-replica", in: 0.01...1e6),
                "weddings-per-replica"
            )
            var floor = CalendarFloor(weddingsPerReplica: perReplica)
            if let path = try section.string("path") {
                guard path.hasPrefix("/") else {
                    throw FieldError(path: section.path("path"), message: "must start with /")
                }
                floor.path = path
            }
            floor.lead = try section.minutes("lead-minutes", in: 0...7 * 24 * 60) ?? floor.lead
            floor.duration = try section.hours("duration-hours", in: 1...48) ?? floor.duration
            floor.ceremonyWindow = try section.hours("ceremony-window-hours", in: 0...24) ?? floor.ceremonyWindow
            floor.freezeWhileLive = try section.bool("freeze-while-live") ?? floor.freezeWhileLive
            floor.refresh = try section.minutes("refresh-minutes", in: 1...24 * 60) ?? floor.refresh
            try section.finish()
            calendar = floor
        }
        var predictive = PredictiveScaling()
        if let value = try block.value("predictive") {
            var section = try FieldReader(value, path: block.path("predictive"))
            if let mode = try section.string("mode") {
                guard let parsed = PredictiveScaling.Mode(rawValue: mode) else {
                    throw FieldError(
                        path: section.path("mode"),
                        message: "\(mode) is not one of off, forecast-only, forecast-and-scale"
                    )
                }
                predictive.mode = parsed
            }
            predictive.lead = try section.seconds("lead-seconds", in: 0...86_400) ?? predictive.lead
            predictive.refresh = try section.hours("refresh-hours", in: 1...48) ?? predictive.refresh
            try section.finish()
        }
        let pool = try block.string("pool") ?? name
        let deployment = try block.string("deployment")
        if let deployment, !Self.isDNSLabel(deployment) {
            throw FieldError(
                path: block.path("deployment"),
                message: "\(deployment) is not a Kubernetes name (a DNS label)"
            )
        }
        try block.finish()
        return ScalingTarget(
            name: name,
            pool: pool,
            deployment: deployment,
            minReplicas: minimum,
            maxReplicas: maximum,
            metrics: metrics,
            behavior: behavior,
            schedules: schedules,
            calendar: calendar,
            predictive: predictive
        )
    }

    static func rules(_ reader: inout FieldReader, defaults: ScalingRules) throws(FieldError) -> ScalingRules {
        var rules = defaults
        rules.stabilization = try reader.seconds("stabilization-seconds", in: 0...3600) ?? rules.stabilization
        if let select = try reader.string("select-policy") {
            guard let parsed = ScalingRules.Select(rawValue: select) else {
                throw FieldError(
                    path: reader.path("select-policy"),
                    message: "\(select) is not one of Max, Min, Disabled"
                )
            }
            rules.select = parsed
        }
        if let list = try reader.list("policies") {
            rules.policies = []
            for (index, value) in list.enumerated() {
                var policy = try FieldReader(value, path: reader.path("policies[\(index)]"))
                let type = try policy.required(policy.string("type"), "type")
                guard let kind = ScalingPolicy.Kind(rawValue: type) else {
                    throw FieldError(path: policy.path("type"), message: "\(type) is not one of Pods, Percent")
                }
                let amount = try policy.required(policy.int("value", in: 1...100_000), "value")
                let period = try policy.required(policy.seconds("period-seconds", in: 1...1800), "period-seconds")
                try policy.finish()
                rules.policies.append(ScalingPolicy(kind: kind, value: amount, period: period))
            }
            if rules.policies.isEmpty, rules.select != .disabled {
                throw FieldError(path: reader.path("policies"), message: "needs a policy, or select-policy: Disabled")
            }
        }
        try reader.finish()
        return rules
    }

    static func schedule(_ entry: inout FieldReader, index: Int) throws(FieldError) -> ReplicaSchedule {
        let name = try entry.string("name") ?? "schedule-\(index + 1)"
        func cron(_ field: String) throws(FieldError) -> CronSchedule {
            let text = try entry.required(entry.string(field), field)
            do {
                return try CronSchedule(text)
            } catch {
                throw FieldError(path: entry.path(field), message: "\(text): \(error.description)")
            }
        }
        let start = try cron("start")
        let end = try cron("end")
        let zoneName = try entry.required(entry.string("time-zone"), "time-zone")
        guard let zone = TimeZone(identifier: zoneName) else {
            throw FieldError(path: entry.path("time-zone"), message: "\(zoneName) is not an IANA time zone")
        }
        let replicas = try entry.required(entry.int("replicas", in: 1...10_000), "replicas")
        var excluded = Set<CalendarDay>()
        for (position, value) in (try entry.list("excluded-dates") ?? []).enumerated() {
            guard let text = value as? String ?? (value as? Date).map({ Self.isoDay($0) }), let date = CalendarDay(text)
            else {
                throw FieldError(path: entry.path("excluded-dates[\(position)]"), message: "must be a date, YYYY-MM-DD")
            }
            excluded.insert(date)
        }
        return ReplicaSchedule(
            name: name,
            start: start,
            end: end,
            timeZone: zone,
            replicas: replicas,
            excludedDates: excluded
        )
    }

    /// A DNS-1123 label: lower-case letters, digits and `-`, 63 at most, starting and ending with a letter or digit.
    static func isDNSLabel(_ name: String) -> Bool {
        guard (1...63).contains(name.count), name.first != "-", name.last != "-" else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }

    static func isoDay(_ date: Date) -> String {
        CalendarDay(date, in: TimeZone(identifier: "UTC")!).description
    }
}
