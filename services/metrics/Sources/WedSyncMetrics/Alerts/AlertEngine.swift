import Foundation
import HTTPTypes
import Logging
import ServiceLifecycle
import Synchronization
import WedSyncModels
import WedSyncServiceKit

/// Evaluates the alert rules on an interval against the aggregated series: one alert per rule and API route
/// (and method). Alerts that fire or resolve in one evaluation are notified as one group per rule; firing alerts
/// are notified again every `repeatInterval`; silenced ones are not notified.
public final class AlertEngine: Service, Sendable {
    public let rules: [AlertRule]
    let queries: MetricsQueries
    let notifier: AlertNotifier
    let interval: Duration
    let repeatInterval: Duration
    let clock: @Sendable () -> Date
    let logger: Logger

    struct Instance {
        var rule: Int
        var labels: [String: String]
        var tracker = AlertTracker()
        var lastNotified: Date?
    }

    private let instances = Mutex<[String: Instance]>([:])
    private let silenceList = Mutex<[Silence]>([])

    public init(
        rules: [AlertRule],
        queries: MetricsQueries,
        notifier: AlertNotifier,
        interval: Duration = .seconds(15),
        repeatInterval: Duration = .seconds(4 * 3_600),
        clock: @escaping @Sendable () -> Date = { Date() },
        logger: Logger
    ) {
        self.rules = rules
        self.queries = queries
        self.notifier = notifier
        self.interval = interval
        self.repeatInterval = repeatInterval
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        // A service that returns ends the whole service group: without rules, just wait for the shutdown.
        guard !rules.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let now = clock()
            do {
                try await Blocking.run { self.evaluate(at: now) }
            } catch {
                evaluate(at: now)
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }

    /// One evaluation of every rule at `now`; a rule whose series cannot be read is skipped this time.
    public func evaluate(at now: Date) {
        var groups: [String: (status: String, severity: AlertSeverity, alerts: [Alert])] = [:]
        // Rules share windows: each window is read once per evaluation.
        var windows: [Int64: [SeriesKey: SeriesBucket]] = [:]
        func merged(_ window: Duration) throws -> [SeriesKey: SeriesBucket] {
            let seconds = max(Aggregator.bucketSeconds, Int64(window / .seconds(1)))
            if let found = windows[seconds] { return found }
            let series = try queries.merged(seconds: seconds, now: now).series
            windows[seconds] = series
            return series
        }
        for (index, rule) in rules.enumerated() {
            let seconds = max(Aggregator.bucketSeconds, Int64(rule.window / .seconds(1)))
            var values: [String: (labels: [String: String], value: Double?)] = [:]
            do {
                if AlertRule.gaugeMetrics.contains(rule.metric) {
                    // A gauge rule: one alert per gauge series (host, service and pool), on its mean over the window.
                    let end = Aggregator.bucketStart(now) + Aggregator.bucketSeconds
                    for (series, summary) in try queries.store.gauges(from: end - seconds, to: end, prefix: rule.metric)
                    {
                        let (name, labels) = GaugeSample.parse(series)
                        guard name == rule.metric, rule.match.allSatisfy({ labels[$0.key] == $0.value }) else {
                            continue
                        }
                        values["\(rule.name)|\(series)"] = (rule.labels.merging(labels) { $1 }, summary.mean)
                    }
                } else {
                    let long = try merged(rule.window)
                    let short = try rule.shortWindow.map(merged) ?? [:]
                    if rule.isTierRule {
                        // A cache tier rule: one alert per tier series (`namespace/tier`) matching its labels.
                        for (key, bucket) in long where key.kind == "cache" {
                            let parts = key.name.split(separator: "/", maxSplits: 1).map(String.init)
                            guard parts.count == 2 else { continue }
                            let tier = ["namespace": parts[0], "tier": parts[1]]
                            guard rule.match.allSatisfy({ tier[$0.key] == $0.value }) else { continue }
                            values["\(rule.name)|\(key.method)|\(key.name)"] = (
                                rule.labels.merging(tier) { $1 },
                                rule.value(long: bucket, short: short[key], seconds: Double(seconds))
                            )
                        }
                    }
                    for (key, bucket) in long
                    where !rule.isTierRule && key.kind == "api" && (rule.route == nil || key.name == rule.route) {
                        let labels = rule.labels.merging(["route": key.name, "method": key.method]) { $1 }
                        values["\(rule.name)|\(key.method)|\(key.name)"] = (
                            labels, rule.value(long: bucket, short: short[key], seconds: Double(seconds))
                        )
                    }
                }
            } catch {
                logger.warning(
                    "alert rule not evaluated",
                    metadata: ["alert.rule": "\(rule.name)", "error": "\(error)"]
                )
                continue
            }
            let silences = silenceList.withLock { $0 }
            let notices = instances.withLock { instances -> [(Alert, AlertTracker.Transition?)] in
                for (key, found) in values where instances[key] == nil {
                    instances[key] = Instance(rule: index, labels: found.labels)
                }
                var notices: [(Alert, AlertTracker.Transition?)] = []
                for (key, var instance) in instances where instance.rule == index {
                    let transition = instance.tracker.evaluate(values[key]?.value, at: now, rule: rule)
                    let repeatDue =
                        instance.tracker.state == .firing && transition == nil
                        && instance.lastNotified.map {
                            now.timeIntervalSince($0) >= Double(repeatInterval / .milliseconds(1)) / 1000
                        } == true
                    if transition != nil || repeatDue {
                        let notice = alert(rule, instance, at: now)
                        // Silenced: not sent, and not counted as sent (it goes out when the silence ends).
                        if !silences.contains(where: { $0.silences(notice, at: now) }) {
                            instance.lastNotified = transition == .resolved ? nil : now
                            notices.append((notice, transition ?? .fired))
                        }
                    } else if instance.tracker.state == .firing, instance.lastNotified == nil,
                        !silences.contains(where: { $0.silences(alert(rule, instance, at: now), at: now) })
                    {
                        // Fired while silenced, and the silence is over: tell it now.
                        instance.lastNotified = now
                        notices.append((alert(rule, instance, at: now), .fired))
                    }
                    if instance.tracker.state == .inactive, values[key] == nil {
                        instances[key] = nil
                    } else {
                        instances[key] = instance
                    }
                }
                return notices
            }
            for (alert, transition) in notices {
                let status = transition == .resolved ? "resolved" : "firing"
                groups["\(index)|\(status)", default: (status, rule.severity, [])].alerts.append(alert)
            }
        }
        for (key, group) in groups.sorted(by: { $0.key < $1.key }) {
            guard let index = Int(key.split(separator: "|")[0]) else { continue }
            notifier.notify(
                rule: rules[index].name,
                status: group.status,
                severity: group.severity,
                alerts: group.alerts.sorted { $0.fingerprint < $1.fingerprint }
            )
        }
    }

    private func alert(_ rule: AlertRule, _ instance: Instance, at now: Date) -> Alert {
        Alert(
            name: rule.name,
            state: instance.tracker.state,
            severity: rule.severity,
            labels: instance.labels,
            annotations: rule.annotations,
            value: instance.tracker.value ?? 0,
            startsAt: instance.tracker.activeSince ?? instance.tracker.firedAt ?? now,
            endsAt: instance.tracker.state == .resolved ? instance.tracker.resolvedAt : nil
        )
    }

    /// Every alert that is pending, firing or just resolved.
    public func alerts(at now: Date? = nil) -> [Alert] {
        let now = now ?? clock()
        return instances.withLock { instances in
            instances.values.filter { $0.tracker.state != .inactive }.map { alert(rules[$0.rule], $0, at: now) }
        }.sorted { $0.fingerprint < $1.fingerprint }
    }

    // MARK: Silences

    public var silences: [Silence] { silenceList.withLock { $0 } }

    /// Silences kept at most (as Alertmanager's `--silences.max-silences`); a silence that ended is let go after
    /// ``silenceRetention`` (Alertmanager's 120 hours), so the list stays bounded however many are made.
    public static let maximumSilences = 1_000
    public static let silenceRetention: TimeInterval = 120 * 3_600

    /// Adds a silence; a 409 `silence_limit` when ``maximumSilences`` are kept.
    public func addSilence(_ request: SilenceRequest) throws(ServiceError) -> Silence {
        let now = clock()
        let silence = Silence(
            id: UUID().uuidString.lowercased(),
            matchers: request.matchers,
            startsAt: request.startsAt ?? now,
            endsAt: request.endsAt,
            createdBy: request.createdBy,
            comment: request.comment
        )
        try silenceList.withLock { list throws(ServiceError) in
            list.removeAll { now.timeIntervalSince($0.endsAt) > Self.silenceRetention }
            guard list.count < Self.maximumSilences else {
                throw ServiceError(
                    .conflict,
                    code: "silence_limit",
                    message: "\(Self.maximumSilences) silences are kept: delete one first"
                )
            }
            list.append(silence)
        }
        return silence
    }

    public func removeSilence(_ id: String) -> Bool {
        silenceList.withLock { list in
            let before = list.count
            list.removeAll { $0.id == id }
            return list.count != before
        }
    }
}
