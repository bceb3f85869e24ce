import Testing
import WedSyncLoad

@Suite("Load tester: schedules, mixes, thresholds, targets")
struct LoadPlanTests {
    @Test("A constant rate schedules rate × duration arrivals, evenly spaced from the start")
    func constantRate() {
        let times = Array(ArrivalSchedule(stages: RateStage.constant(100, for: .seconds(10))))
        #expect(times.count == 1000)
        #expect(abs(times[0] - 0.01) < 1e-9 && abs(times[999] - 10) < 1e-9)
        #expect(zip(times, times.dropFirst()).allSatisfy { abs($1 - $0 - 0.01) < 1e-9 })
    }

    @Test("A ramp from 0 to 100/s over 10 s schedules 500 arrivals, denser at the end; then a plateau adds its own")
    func ramp() {
        let times = Array(
            ArrivalSchedule(stages: [
                RateStage(duration: .seconds(10), target: 100), RateStage(duration: .seconds(5), target: 100),
            ])
        )
        #expect(times.count == 1000)
        let firstHalf = times.filter { $0 <= 5 + 1e-6 }.count
        #expect(firstHalf == 125, "N(5) = 100 × 25 / 20")
        #expect(times.allSatisfy { $0 > 0 && $0 <= 15 + 1e-9 })
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test("Weights decide the mix's shares, reproducibly from the seed")
    func mix() {
        let mix = RequestMix([
            RequestTemplate(name: "a", target: "/a", weight: 3), RequestTemplate(name: "b", target: "/b", weight: 1),
        ])
        var random = SplitMix64(seed: 7)
        let picks = (0..<40_000).map { _ in mix.pick(random.unit()) }
        let share = Double(picks.filter { $0 == 0 }.count) / 40_000
        #expect(abs(share - 0.75) < 0.01)
        var again = SplitMix64(seed: 7)
        #expect((0..<100).map { _ in mix.pick(again.unit()) } == Array(picks.prefix(100)))
    }

    @Test("Thresholds parse as k6 writes them, and judge a series")
    func thresholds() throws {
        #expect(Threshold("p(95)<200")?.statistic == .percentile(95))
        #expect(Threshold(" p(99.9) <= 500 ")?.comparison == .lessOrEqual)
        #expect(Threshold("rate<0.01")?.statistic == .failureRate)
        #expect(Threshold("avg<100")?.statistic == .average)
        for bad in ["p(0)<1", "p(101)<1", "p95<200", "rate", "avg<", "latency<5", "p(95)<x"] {
            #expect(Threshold(bad) == nil, "\(bad)")
        }
    }

    @Test("Targets: http://host[:port], IPv6 in brackets; anything else refused")
    func targets() {
        #expect(LoadTarget(url: "http://127.0.0.1:8080") == LoadTarget(host: "127.0.0.1", port: 8080))
        #expect(LoadTarget(url: "http://localhost/api") == LoadTarget(host: "localhost", port: 80))
        #expect(LoadTarget(url: "http://[::1]:9000") == LoadTarget(host: "::1", port: 9000))
        for bad in ["https://x", "http://", "http://x:0", "http://x:70000", "ftp://x", "http://x:y"] {
            #expect(LoadTarget(url: bad) == nil, "\(bad)")
        }
    }

    @Test("Durations: 500ms, 30s, 2m, 1h, plain seconds")
    func durations() {
        #expect(DurationText.parse("500ms") == .milliseconds(500))
        #expect(DurationText.parse("2m") == .seconds(120))
        #expect(DurationText.parse("1.5") == .milliseconds(1500))
        #expect(DurationText.parse("-1s") == nil && DurationText.parse("soon") == nil)
    }
}
