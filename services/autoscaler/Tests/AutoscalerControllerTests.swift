import Foundation
import Logging
import Synchronization
import Testing
import WedSyncModels
import WedSyncServiceKit

@testable import WedSyncAutoscaler

/// The decision loop above its seams: signals and an actuator of the test's own (the seams themselves are tested
/// end to end with the real services in the stack flows).
@Suite("Autoscaler: the decision loop, recording and acting")
struct AutoscalerControllerTests {
    /// Metrics the test sets.
    final class SetSignals: ScalingSignals {
        let values = Mutex<[MetricTarget.Kind: MetricReading]>([:])
        func readings(for target: ScalingTarget) async -> [MetricTarget.Kind: MetricReading] { values.withLock { $0 } }
    }

    /// Replicas kept in memory; fails when told to.
    final class MemoryActuator: ReplicaActuator {
        let replicas = Mutex<Int>(2)
        let failing = Mutex<Bool>(false)
        let scaled = Mutex<[Int]>([])
        func replicas(of target: ScalingTarget) async throws(ActuatorError) -> ReplicaCount {
            let count = replicas.withLock { $0 }
            return ReplicaCount(current: count, ready: count)
        }
        func scale(_ target: ScalingTarget, to count: Int) async throws(ActuatorError) {
            if failing.withLock({ $0 }) { throw ActuatorError(target: target.name, message: "refused") }
            scaled.withLock { $0.append(count) }
            replicas.withLock { $0 = count }
        }
    }

    static func controller(signals: SetSignals, actuator: MemoryActuator) -> AutoscalerController {
        let target = ScalingTarget(
            name: "api",
            pool: "api",
            minReplicas: 1,
            maxReplicas: 6,
            metrics: [MetricTarget(kind: .requestsPerReplica, target: 100)],
            behavior: ScalingBehavior(
                scaleDown: ScalingRules(
                    stabilization: .zero,
                    select: .max,
                    policies: [ScalingPolicy(kind: .percent, value: 100, period: .seconds(15))]
                )
            )
        )
        return AutoscalerController(
            file: AutoscalingFile(interval: .seconds(15), targets: [target]),
            actuator: actuator,
            actuatorName: "dry-run",
            signals: signals,
            calendar: nil,
            forecast: nil,
            logger: Logger(label: "test")
        )
    }

    @Test("A tick reads, decides, records the decision with its sentence, and sets the replicas it decided")
    func scalesAndRecords() async throws {
        let signals = SetSignals()
        let actuator = MemoryActuator()
        let controller = Self.controller(signals: signals, actuator: actuator)
        signals.values.withLock { $0 = [.requestsPerReplica: .total(450)] }
        await controller.tick()
        #expect(actuator.scaled.withLock { $0 } == [5], "ceil(450 / 100) = 5")
        var report = controller.log.report(limit: 10)
        #expect(report.actuator == "dry-run" && report.targets.map(\.target) == ["api"])
        let decision = try #require(report.targets.first?.decisions.first)
        #expect(decision.currentReplicas == 2 && decision.desiredReplicas == 5 && decision.rule == .metric)
        #expect(decision.reason.hasPrefix("5 replicas"), "\(decision.reason)")
        #expect(decision.inputs.metrics.first?.value == 450)

        // Nothing to read: HPA holds (a missing metric counts as 100% of its target when scaling down).
        signals.values.withLock { $0 = [:] }
        await controller.tick()
        report = controller.log.report(limit: 10)
        #expect(actuator.scaled.withLock { $0 } == [5], "held")
        #expect(report.targets[0].decisions.first?.inputs.missing == ["requests-per-replica"])
        #expect(report.targets[0].decisions.count == 2, "newest first, every tick")
        #expect(controller.log.report(limit: 1).targets[0].decisions.count == 1)

        // Idle: down to the minimum (no stabilization here).
        signals.values.withLock { $0 = [.requestsPerReplica: .total(0)] }
        await controller.tick()
        #expect(actuator.scaled.withLock { $0 } == [5, 1])
    }

    @Test("An actuator that fails is reported at its target until a later tick succeeds")
    func actuatorFailure() async throws {
        let signals = SetSignals()
        let actuator = MemoryActuator()
        let controller = Self.controller(signals: signals, actuator: actuator)
        signals.values.withLock { $0 = [.requestsPerReplica: .total(300)] }
        actuator.failing.withLock { $0 = true }
        await controller.tick()
        #expect(controller.log.report(limit: 1).targets[0].lastError == "api: refused")
        #expect(controller.log.report(limit: 1).targets[0].desiredReplicas == 3)
        actuator.failing.withLock { $0 = false }
        await controller.tick()
        #expect(controller.log.report(limit: 1).targets[0].lastError == nil)
        #expect(actuator.replicas.withLock { $0 } == 3)
    }

    @Test("The metrics service's figures become the metrics: the last 30 s complete; cache hits not the API's load")
    func figuresToReadings() throws {
        let json = """
            {"at":"2027-06-12T10:00:05Z","overall":{"count":6000,"ratePerSecond":100,"p95Ms":180,"cacheHitRatio":0.25},
             "history":[{"start":"2027-06-12T09:59:20Z","count":5000,"ratePerSecond":500,"p95Ms":900},
                        {"start":"2027-06-12T09:59:30Z","count":1000,"ratePerSecond":100,"p95Ms":120,"cacheHitRatio":0.25},
                        {"start":"2027-06-12T09:59:40Z","count":1000,"ratePerSecond":100,"p95Ms":180,"cacheHitRatio":0.25},
                        {"start":"2027-06-12T09:59:50Z","count":1000,"ratePerSecond":100,"p95Ms":150,"cacheHitRatio":0.25},
                        {"start":"2027-06-12T10:00:00Z","count":9000,"ratePerSecond":900,"p95Ms":700}],
             "cacheTiers":[{"tier":"L1","lookups":3000},{"tier":"L2","lookups":900},{"tier":"responses","lookups":10}],
             "database":{"poolUtilisation":0.5},"routes":[],"alerts":[],"budgets":[]}
            """
        let figures = try WedSyncJSON.makeDecoder().decode(MetricsServiceSignals.Figures.self, from: Data(json.utf8))
        let api = ScalingTarget(
            name: "api",
            pool: "api",
            minReplicas: 1,
            maxReplicas: 4,
            metrics: [
                MetricTarget(kind: .requestsPerReplica, target: 50), MetricTarget(kind: .p95Latency, target: 150),
                MetricTarget(kind: .poolUtilisation, target: 0.7), MetricTarget(kind: .cpu, target: 0.6),
            ]
        )
        let readings = MetricsServiceSignals.readings(figures, for: api)
        // The last three points complete 2 s before the figures (09:59:30 to 10:00:00; the one from 10:00:00 is
        // still filling), a quarter of them answered by the gateway's cache.
        #expect(readings[.requestsPerReplica] == .total(75), "a quarter answered by the gateway's cache")
        #expect(readings[.p95Latency] == .total(180), "the highest p95 of the same three points")
        #expect(readings[.poolUtilisation] == .total(0.5))
        #expect(readings[.cpu] == nil, "no CPU source: missing")
        let cache = ScalingTarget(
            name: "cache",
            pool: "cache",
            minReplicas: 1,
            maxReplicas: 3,
            metrics: [MetricTarget(kind: .requestsPerReplica, target: 2000)]
        )
        #expect(MetricsServiceSignals.readings(figures, for: cache)[.requestsPerReplica] == .total(10))

        var idle = figures
        idle.history = []
        #expect(MetricsServiceSignals.readings(idle, for: api)[.p95Latency] == .total(0))
        #expect(MetricsServiceSignals.readings(idle, for: api)[.requestsPerReplica] == .total(0))
    }

    @Test("The calendar is asked for the UTC days a wedding in play can fall on, lead and length included")
    func calendarDays() throws {
        let floor = CalendarFloor(
            path: "/v1/calendar/weddings",
            weddingsPerReplica: 100,
            lead: .seconds(8 * 3600),
            duration: .seconds(8 * 3600),
            freezeWhileLive: true,
            ceremonyWindow: .seconds(3 * 3600),
            refresh: .seconds(900)
        )
        let now = try #require(ISO8601.parse("2027-06-12T06:00:00Z"))
        let (from, to) = WeddingCalendarSource.days(for: floor, at: now)
        #expect(from.description == "2027-06-11", "a wedding that started 11 h ago")
        #expect(to.description == "2027-06-12", "one starting 8 h 15 min from now, and the hour after")
        let evening = try #require(ISO8601.parse("2027-06-12T20:00:00Z"))
        #expect(WeddingCalendarSource.days(for: floor, at: evening).1.description == "2027-06-13")
    }

    @Test("The local actuator decides a target without a command as dry-run does, and never asks the gateway")
    func localWithoutCommand() async throws {
        // A gateway address nothing listens on: any call to it would fail.
        let actuator = LocalProcessActuator(
            launches: [:],
            gateway: ServiceClient(name: "gateway", baseURL: "http://127.0.0.1:1"),
            logger: Logger(label: "test")
        )
        let cache = ScalingTarget(
            name: "cache",
            pool: "cache",
            minReplicas: 2,
            maxReplicas: 3,
            metrics: [MetricTarget(kind: .requestsPerReplica, target: 2000)]
        )
        #expect(try await actuator.replicas(of: cache) == ReplicaCount(current: 2, ready: 2))
        try await actuator.scale(cache, to: 3)
        #expect(try await actuator.replicas(of: cache) == ReplicaCount(current: 3, ready: 3))
    }

    @Test("A replica's environment file: KEY=VALUE lines, comments skipped; a bad line is named")
    func environmentFile() throws {
        let path = NSTemporaryDirectory() + "replica-env-\(UUID().uuidString)"
        try "# the API replica\nWEDSYNC_DATABASE_URL=postgres://x@127.0.0.1:5/w?a=b\n\nWEDSYNC_LOG_LEVEL=warning\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let environment = try LocalProcessActuator.environment(file: path, key: "k")
        #expect(
            environment == [
                "WEDSYNC_DATABASE_URL": "postgres://x@127.0.0.1:5/w?a=b", "WEDSYNC_LOG_LEVEL": "warning",
            ]
        )
        try "GOOD=1\nnot a pair\n".write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try LocalProcessActuator.environment(file: path, key: "autoscaler.local.api.env-file")
            Issue.record("a line that is not KEY=VALUE was taken")
        } catch {
            #expect(error.key == "autoscaler.local.api.env-file" && error.message.hasPrefix("line 2 of "), "\(error)")
        }
    }
}
