import Foundation
import Testing
import WedSyncAutoscaler
import WedSyncModels

@Suite("Autoscaler: stabilization, policies, floors, forecasts and the live-wedding freeze")
struct ScalingDeciderTests {
    static let start = ScheduleTests.utc("2026-06-10T10:00:00Z")

    static func target(
        min: Int = 1,
        max: Int = 20,
        behavior: ScalingBehavior = .init(),
        schedules: [ReplicaSchedule] = [],
        calendar: CalendarFloor? = nil,
        predictive: PredictiveScaling = .init()
    ) -> ScalingTarget {
        ScalingTarget(
            name: "api",
            pool: "api",
            minReplicas: min,
            maxReplicas: max,
            metrics: [.init(kind: .requestsPerReplica, target: 100), .init(kind: .p95Latency, target: 150)],
            behavior: behavior,
            schedules: schedules,
            calendar: calendar,
            predictive: predictive
        )
    }

    static func inputs(
        at offset: TimeInterval,
        current: Int,
        rate: Double?,
        p95: Double? = 5,
        bookings: [WeddingBooking]? = nil,
        forecast: [ForecastHour]? = nil
    ) -> ScalingInputs {
        var readings: [MetricTarget.Kind: MetricReading] = [:]
        if let rate { readings[.requestsPerReplica] = .total(rate) }
        if let p95 { readings[.p95Latency] = .total(p95) }
        return ScalingInputs(
            now: start.addingTimeInterval(offset),
            currentReplicas: current,
            readings: readings,
            bookings: bookings,
            forecast: forecast
        )
    }

    @Test("Several metrics: the highest wins; a missing one holds a scale-down but not a scale-up")
    func metrics() {
        var decider = ScalingDecider(
            target: Self.target(
                behavior: .init(
                    scaleDown: .init(
                        stabilization: .zero,
                        select: .max,
                        policies: [.init(kind: .percent, value: 100, period: .seconds(15))]
                    )
                )
            )
        )
        let both = decider.decide(Self.inputs(at: 0, current: 4, rate: 400, p95: 300))
        #expect(both.desiredReplicas == 8, "p95 300 against 150 on 4 asks 8; the rate asks 4")
        #expect(both.rule == .metric && both.reason.contains("p95-latency-ms"))
        let missing = decider.decide(Self.inputs(at: 60, current: 8, rate: nil, p95: 50))
        #expect(missing.desiredReplicas == 8 && missing.rule == .missingMetric)
        #expect(missing.inputs.missing == ["requests-per-replica"])
        let up = decider.decide(Self.inputs(at: 120, current: 8, rate: nil, p95: 300))
        #expect(up.desiredReplicas == 16)
        let down = decider.decide(Self.inputs(at: 180, current: 16, rate: 400, p95: 10))
        #expect(down.desiredReplicas == 4)
    }

    @Test("Scale-down waits out the 300 s window; scale-up is at most max(100%, 4 replicas) per 15 s")
    func stabilizationAndPolicies() {
        var decider = ScalingDecider(target: Self.target())
        #expect(decider.decide(Self.inputs(at: 0, current: 6, rate: 600)).desiredReplicas == 6)
        // The load halves: the window still holds 6 for 300 s.
        var held = 0
        var at: TimeInterval = 15
        while at < 300 {
            let decision = decider.decide(Self.inputs(at: at, current: 6, rate: 300))
            #expect(decision.desiredReplicas == 6)
            if decision.rule == .stabilization { held += 1 }
            at += 15
        }
        #expect(held > 0)
        let after = decider.decide(Self.inputs(at: 315, current: 6, rate: 300))
        #expect(after.desiredReplicas == 3, "\(after.reason)")
        // From 2 replicas, 2000 requests/s asks 20: the first step is 2 + 4 = 6 (4 replicas beat 100%).
        var up = ScalingDecider(target: Self.target())
        let first = up.decide(Self.inputs(at: 0, current: 2, rate: 2000))
        #expect(first.desiredReplicas == 6 && first.rule == .scaleUpPolicy)
        // 5 s later, still within the period: the period started at 2, so 6 is all it may have.
        #expect(up.decide(Self.inputs(at: 5, current: 6, rate: 2000)).desiredReplicas == 6)
        // A period later: 6 + 100% = 12.
        #expect(up.decide(Self.inputs(at: 20, current: 6, rate: 2000)).desiredReplicas == 12)
        #expect(up.decide(Self.inputs(at: 40, current: 12, rate: 2000)).desiredReplicas == 20)
        #expect(up.decide(Self.inputs(at: 60, current: 20, rate: 9000)).rule == .maxReplicas)
        // Scale-down by Pods 1 per 60 s with select Min against Percent 50: the smaller change wins.
        var slow = ScalingDecider(
            target: Self.target(
                behavior: .init(
                    scaleDown: .init(
                        stabilization: .zero,
                        select: .min,
                        policies: [
                            .init(kind: .replicas, value: 1, period: .seconds(60)),
                            .init(kind: .percent, value: 50, period: .seconds(60)),
                        ]
                    )
                )
            )
        )
        #expect(slow.decide(Self.inputs(at: 0, current: 10, rate: 100)).desiredReplicas == 9)
        #expect(slow.decide(Self.inputs(at: 30, current: 9, rate: 100)).desiredReplicas == 9)
        #expect(slow.decide(Self.inputs(at: 61, current: 9, rate: 100)).desiredReplicas == 8)
        var disabled = ScalingDecider(
            target: Self.target(
                behavior: .init(scaleDown: .init(stabilization: .zero, select: .disabled, policies: []))
            )
        )
        #expect(disabled.decide(Self.inputs(at: 0, current: 10, rate: 100)).desiredReplicas == 10)
    }

    @Test("A schedule floor and the calendar floor raise the replicas, the sentence names the weddings")
    func floors() {
        let bookings = [
            WeddingBooking(start: ScheduleTests.utc("2026-06-13T11:00:00Z"), timeZone: "Europe/London", weddings: 300),
            WeddingBooking(start: ScheduleTests.utc("2026-06-13T13:00:00Z"), timeZone: "Europe/London", weddings: 40),
        ]
        var decider = ScalingDecider(
            target: Self.target(schedules: [ScheduleTests.saturday], calendar: CalendarFloor(weddingsPerReplica: 30))
        )
        // Saturday 13 June 06:30 UTC: the schedule is open (07:30 BST), the weddings are 4.5 h away.
        let early = ScheduleTests.utc("2026-06-13T06:30:00Z").timeIntervalSince(Self.start)
        let morning = decider.decide(Self.inputs(at: early, current: 1, rate: 10, bookings: bookings))
        #expect(morning.desiredReplicas == 4 && morning.rule == .schedule)
        // 09:00 UTC, 2 h before the first: 300 weddings at 30 a replica → 10 (the scale-up policies allow it over
        // two periods).
        let lead = ScheduleTests.utc("2026-06-13T09:00:00Z").timeIntervalSince(Self.start)
        let first = decider.decide(Self.inputs(at: lead, current: 4, rate: 10, bookings: bookings))
        #expect(first.desiredReplicas == 8 && first.rule == .scaleUpPolicy)
        let second = decider.decide(Self.inputs(at: lead + 15, current: 8, rate: 10, bookings: bookings))
        #expect(second.desiredReplicas == 10 && second.rule == .calendar)
        #expect(second.reason == "10 replicas: 300 weddings on 13 June, 2 h lead", "\(second.reason)")
        // 11:00 both hours are in play: 340 → 12.
        let both = ScheduleTests.utc("2026-06-13T11:00:00Z").timeIntervalSince(Self.start)
        let peak = decider.decide(Self.inputs(at: both, current: 10, rate: 10, bookings: bookings))
        #expect(peak.desiredReplicas == 12)
        #expect(peak.reason == "12 replicas: 340 weddings on 13 June, 2 h lead")
        // The calendar unreadable: no scale-down.
        let blind = decider.decide(Self.inputs(at: both + 60, current: 12, rate: 10, bookings: nil))
        #expect(blind.desiredReplicas == 12 && blind.inputs.missing.contains("calendar"))
    }

    @Test("No scale-down while a ceremony window is live in any time zone; it resumes after")
    func freeze() {
        let bookings = [
            WeddingBooking(start: ScheduleTests.utc("2026-06-13T14:00:00Z"), timeZone: "America/New_York", weddings: 3)
        ]
        let calendar = CalendarFloor(
            weddingsPerReplica: 100,
            lead: .zero,
            duration: .seconds(3600),
            ceremonyWindow: .seconds(3 * 3600)
        )
        let quick = ScalingBehavior(
            scaleDown: .init(
                stabilization: .zero,
                select: .max,
                policies: [.init(kind: .percent, value: 100, period: .seconds(15))]
            )
        )
        var decider = ScalingDecider(target: Self.target(behavior: quick, calendar: calendar))
        let live = ScheduleTests.utc("2026-06-13T15:30:00Z").timeIntervalSince(Self.start)
        let held = decider.decide(Self.inputs(at: live, current: 8, rate: 100, bookings: bookings))
        #expect(held.desiredReplicas == 8 && held.rule == .liveWeddingFreeze)
        #expect(held.inputs.liveZones == ["America/New_York"])
        let up = decider.decide(Self.inputs(at: live + 15, current: 8, rate: 1600, bookings: bookings))
        #expect(up.desiredReplicas == 16, "the freeze never holds a scale-up")
        let after = ScheduleTests.utc("2026-06-13T17:00:00Z").timeIntervalSince(Self.start)
        #expect(decider.decide(Self.inputs(at: after, current: 16, rate: 100, bookings: bookings)).desiredReplicas == 1)
    }

    @Test("The forecast floor: in place a lead time ahead; forecast-only changes nothing; never scales in")
    func forecast() {
        let hours = [
            ForecastHour(start: ScheduleTests.utc("2026-06-10T11:00:00Z"), replicas: 9),
            ForecastHour(start: ScheduleTests.utc("2026-06-10T12:00:00Z"), replicas: 2),
        ]
        let quick = ScalingBehavior(
            scaleDown: .init(
                stabilization: .zero,
                select: .max,
                policies: [.init(kind: .percent, value: 100, period: .seconds(15))]
            )
        )
        var scaling = ScalingDecider(
            target: Self.target(behavior: quick, predictive: .init(mode: .forecastAndScale, lead: .seconds(300)))
        )
        // 10:50: the 11:00 hour is more than the lead away.
        #expect(scaling.decide(Self.inputs(at: 3000, current: 1, rate: 50, forecast: hours)).desiredReplicas == 1)
        // 10:56: within 300 s of 11:00 → 9 (1 + 4 this period, then the next).
        let first = scaling.decide(Self.inputs(at: 3360, current: 1, rate: 50, forecast: hours))
        #expect(first.desiredReplicas == 5 && first.inputs.forecastFloor == 9)
        let second = scaling.decide(Self.inputs(at: 3375, current: 5, rate: 50, forecast: hours))
        #expect(second.desiredReplicas == 9 && second.rule == .forecast)
        // 12:10: the forecast says 2 but live load asks 10: the forecast never takes replicas away.
        let later = scaling.decide(Self.inputs(at: 7800, current: 9, rate: 1000, forecast: hours))
        #expect(later.desiredReplicas == 10 && later.rule == .metric)
        var only = ScalingDecider(target: Self.target(predictive: .init(mode: .forecastOnly, lead: .seconds(300))))
        let recorded = only.decide(Self.inputs(at: 3360, current: 1, rate: 50, forecast: hours))
        #expect(recorded.desiredReplicas == 1)
        #expect(recorded.inputs.forecastFloor == 9 && !recorded.inputs.forecastApplied)
        #expect(recorded.reason.contains("forecast-only: forecast 9"))
    }

    @Test("A noisy signal around the target does not flap with the guards, and flaps without them")
    func flapping() {
        var generator = SeededRandom(seed: 18)
        let signal = (0..<240).map { _ in 600 * (1 + Double.random(in: -0.15...0.15, using: &generator)) }
        func changes(_ behavior: ScalingBehavior) -> Int {
            var decider = ScalingDecider(target: Self.target(behavior: behavior))
            var current = 6
            var changes = 0
            for (index, rate) in signal.enumerated() {
                let decision = decider.decide(Self.inputs(at: Double(index) * 15, current: current, rate: rate))
                if decision.desiredReplicas != current { changes += 1 }
                current = decision.desiredReplicas
            }
            return changes
        }
        let guarded = changes(ScalingBehavior())
        let bare = changes(
            ScalingBehavior(
                tolerance: 0,
                scaleDown: .init(
                    stabilization: .zero,
                    select: .max,
                    policies: [.init(kind: .percent, value: 100, period: .seconds(15))]
                )
            )
        )
        #expect(guarded <= 2, "with HPA's tolerance and window: \(guarded) changes in an hour")
        #expect(bare > 20, "without them: \(bare) changes")
    }
}
