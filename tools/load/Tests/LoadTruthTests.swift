import Foundation
import Testing
import WedSyncLoad

/// The load tester against a server whose latency is known, stalls included: the open model's percentiles must be
/// the true ones, where a closed model's hide the stall; and the knee and the recovery from a spike of a system
/// whose capacity is known.
@Suite("Load tester: latencies measured from the intended start", .serialized)
struct LoadTruthTests {
    static let base = Duration.milliseconds(100)
    static let stall = Duration.seconds(2)
    static let period = Duration.seconds(10)

    /// The true latency at `percentile` for requests arriving evenly over whole periods: `base` for the requests
    /// outside the stall, `base` plus a wait uniform over the stall for the share inside it.
    static func truth(at percentile: Double) -> Double {
        let stalled = 0.2 * 100
        let base = 100.0
        guard percentile > 100 - stalled else { return base }
        // Within the stalled share, the wait is uniform: the top (100 - p)% of all is the top of the stall's waits.
        let share = (percentile - (100 - stalled)) / stalled
        return base + 2000 * share
    }

    @Test("Open model: p50, p90, p95 and p99 within 5% of the true values, the 2 s stall every 10 s included")
    func openModelTellsTheTruth() async throws {
        let server = try await StallingServer.start(base: Self.base, stall: Self.stall, period: Self.period)
        let runner = LoadRunner(
            target: LoadTarget(host: "127.0.0.1", port: server.port),
            mix: RequestMix([RequestTemplate(name: "GET /", target: "/")]),
            model: .open(stages: RateStage.constant(50, for: .seconds(20))),
            connections: 200
        )
        let recorder = LatencyRecorder(endpoints: ["GET /"])
        let facts = await runner.run(recorder: recorder)
        await server.stop()
        let measured = recorder.overall
        #expect(measured.requests == 1000 && facts.scheduled == 1000 && facts.dropped == 0)
        #expect(measured.failures == 0)
        for percentile in [50.0, 90, 95, 99] {
            let truth = Self.truth(at: percentile)
            let value = measured.milliseconds(at: percentile)
            #expect(abs(value - truth) <= truth * 0.05, "p\(percentile): \(value) ms, truly \(truth) ms")
        }
    }

    @Test("Closed model: the same server looks fast at p90 and p95, which is why the open model is the one to believe")
    func closedModelHidesTheStall() async throws {
        let server = try await StallingServer.start(base: Self.base, stall: Self.stall, period: Self.period)
        let runner = LoadRunner(
            target: LoadTarget(host: "127.0.0.1", port: server.port),
            mix: RequestMix([RequestTemplate(name: "GET /", target: "/")]),
            model: .closed(users: 10, thinkTime: .none, duration: .seconds(20))
        )
        let recorder = LatencyRecorder(endpoints: ["GET /"])
        _ = await runner.run(recorder: recorder)
        await server.stop()
        // Each user is held once per stall and answers 80 times between stalls: the stall is 1 answer in 81, where it
        // is a fifth of the requests that arrive.
        for percentile in [90.0, 95] {
            let value = recorder.overall.milliseconds(at: percentile)
            let truth = Self.truth(at: percentile)
            #expect(value < truth / 4, "closed-model p\(percentile) \(value) ms against a true \(truth) ms")
        }
    }

    /// A system of known capacity: 4 connections to a server that answers each request in 20 ms serve 200 a second;
    /// past that, due requests queue and their wait counts.
    static func fourLanes(_ server: StallingServer) -> LoadRunner {
        LoadRunner(
            target: LoadTarget(host: "127.0.0.1", port: server.port),
            mix: RequestMix([RequestTemplate(name: "GET /", target: "/")]),
            model: .open(stages: []),
            connections: 4
        )
    }

    @Test(
        "Stress: the knee of a system that serves 200 requests a second is found between 100 and 200, and the climb stops past it"
    )
    func knee() async throws {
        let server = try await StallingServer.start(base: .milliseconds(20), stall: .zero, period: .seconds(10))
        let result = await StressTest(
            runner: Self.fourLanes(server),
            startRate: 50,
            stepRate: 50,
            maximumRate: 1_000,
            hold: .seconds(3),
            budget: 100
        ).run()
        await server.stop()
        let knee = try #require(result.knee, "\(result.table)")
        #expect((100...200).contains(knee), "\(result.table)")
        #expect(result.steps.last?.withinBudget == false && result.steps.last!.rate <= 300, "\(result.table)")
        #expect(result.steps.dropLast().allSatisfy { $0.withinBudget })
    }

    @Test(
        "Spike: five times the base overloads the same system; once the spike ends the backlog drains and p95 recovers"
    )
    func spike() async throws {
        let server = try await StallingServer.start(base: .milliseconds(20), stall: .zero, period: .seconds(10))
        let result = await SpikeTest(
            runner: Self.fourLanes(server),
            baseRate: 50,
            factor: 5,
            before: .seconds(3),
            hold: .seconds(3),
            after: .seconds(10),
            budget: 100,
            settle: 3
        ).run()
        await server.stop()
        #expect(result.spikeRate == 250)
        #expect(result.p95Before < 100, "\(result.summary)")
        // 50 a second more than it can serve for 3 s: a backlog of 150, waits up to 0.75 s.
        #expect(result.p95During > 100, "\(result.summary)")
        let recovery = try #require(result.recoverySeconds, "\(result.summary)")
        #expect(recovery <= 4, "\(result.summary)")
    }
}
