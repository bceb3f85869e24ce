import Foundation
import Testing
import WedSyncAutoscaler
import WedSyncModels
import WedSyncServiceKit

@Suite("Autoscaler: the autoscaling file")
struct AutoscalingFileTests {
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    @Test("The shipped infrastructure/autoscaling.yaml parses into HPA's defaults where it is silent")
    func shipped() throws {
        let file = try AutoscalingFile.load(
            path: Self.repository.appendingPathComponent("infrastructure/autoscaling.yaml").path
        )
        #expect(file.interval == .seconds(15))
        #expect(file.targets.map(\.name) == ["api", "cache"])
        let api = file.targets[0]
        #expect(api.metrics.map(\.kind) == [.requestsPerReplica, .p95Latency])
        #expect(api.metrics[1].tolerance == 0.2)
        #expect(api.behavior == ScalingBehavior())
        #expect(api.schedules[0].timeZone.identifier == "Europe/London")
        #expect(api.schedules[0].excludedDates.contains(CalendarDay("2026-12-26")!))
        #expect(api.calendar?.lead == .seconds(8 * 3600))
        #expect(api.calendar?.weddingsPerReplica == 100)
        #expect(api.predictive.mode == .forecastOnly)
        let cache = file.targets[1]
        #expect(cache.behavior.scaleDown.stabilization == .seconds(600))
        #expect(cache.behavior.scaleUp == ScalingBehavior().scaleUp)
    }

    @Test(
        "A wrong field stops the start, named by its path",
        arguments: [
            ("targets: {}", "targets: at least one target"),
            ("targets: {api: {min-replicas: 1}}", "targets.api.max-replicas: is required"),
            (
                "targets: {api: {min-replicas: 5, max-replicas: 2}}",
                "targets.api.max-replicas: must be at least min-replicas"
            ),
            (
                "targets: {api: {max-replicas: 2, metrics: [{type: qps, target: 1}]}}",
                "targets.api.metrics[0].type: qps is not one of"
            ),
            (
                "targets: {api: {max-replicas: 2, metrics: [{type: cpu, target: 60}]}}",
                "targets.api.metrics[0].target: a share"
            ),
            (
                "targets: {api: {max-replicas: 2, behavior: {scale-up: {policies: [{type: Pods, value: 0, period-seconds: 15}]}}}}",
                "targets.api.behavior.scale-up.policies[0].value: must be in 1...100000"
            ),
            (
                "targets: {api: {max-replicas: 2, behavior: {scale-down: {stabilisation-seconds: 60}}}}",
                "targets.api.behavior.scale-down.stabilisation-seconds: is not a known field"
            ),
            (
                "targets: {api: {max-replicas: 2, schedules: [{start: '0 7 * * SAT', end: '0 25 * * SAT', time-zone: UTC, replicas: 2}]}}",
                "targets.api.schedules[0].end: 0 25 * * SAT: hour: '25' is not in 0-23"
            ),
            (
                "targets: {api: {max-replicas: 2, schedules: [{start: '0 7 * * SAT', end: '0 9 * * SAT', time-zone: Mars/Olympus, replicas: 2}]}}",
                "targets.api.schedules[0].time-zone: Mars/Olympus is not an IANA time zone"
            ),
            (
                "targets: {api: {max-replicas: 2, schedules: [{start: '0 7 * * SAT', end: '0 9 * * SAT', time-zone: UTC, replicas: 2, excluded-dates: ['2026-02-30']}]}}",
                "targets.api.schedules[0].excluded-dates[0]: must be a date"
            ),
            (
                "targets: {api: {max-replicas: 2, predictive: {mode: always}}}",
                "targets.api.predictive.mode: always is not one of"
            ),
            (
                "targets: {api: {max-replicas: 2, calendar: {lead-minutes: 60}}}",
                "targets.api.calendar.weddings-per-replica: is required"
            ),
            ("interval-seconds: 0\ntargets: {api: {max-replicas: 2}}", "interval-seconds: must be in 1...3600"),
            ("targets: [", "the YAML does not parse"),
            (
                "targets: {api: {max-replicas: 2, deployment: Wedsync_API}}",
                "targets.api.deployment: Wedsync_API is not a Kubernetes name"
            ),
        ]
    )
    func refused(_ text: String, _ expected: String) {
        #expect {
            try AutoscalingFile.parse(text)
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.key == "autoscaler.file" && error.message.contains(expected)
        }
    }
}
