import Foundation
import Testing
import WedSyncAutoscaler
import WedSyncModels

@Suite("Autoscaler: the replay simulator, its queueing model and the shipped trace")
struct SimulationTests {
    static let traces = AutoscalingFileTests.repository.appendingPathComponent("services/autoscaler/traces")
    static let shipped = traces.appendingPathComponent("wedding-season-2027.trace").path

    @Test("M/M/c: p95 at no load is the service's; it grows with load; at capacity it is unbounded")
    func queueModel() {
        let model = ReplicaQueueModel(workers: 2, serviceTime: 0.004)
        #expect(model.capacity == 500)
        #expect(abs(model.p95(rate: 0) - log(20) * 0.004) < 1e-12)
        var last = 0.0
        for rate in stride(from: 0.0, to: 500, by: 25) {
            let p95 = model.p95(rate: rate)
            #expect(p95 >= last)
            last = p95
        }
        #expect(model.p95(rate: 500) == .infinity)
        #expect(model.p95(rate: 480) > 0.1, "96% busy: over a 100 ms SLO")
        #expect(model.p95(rate: 300) < 0.05)
        // Erlang C: one server waits with probability ρ; two servers at 1 erlang wait with probability 1/3.
        #expect(
            abs(
                ReplicaQueueModel(workers: 1, serviceTime: 0.01).p95(rate: 50) - (log(0.5 / 0.05) / 50 + log(20) * 0.01)
            ) < 1e-9
        )
    }

    @Test("A trace file round-trips; a bad one is refused with its line; rates hold over their step")
    func traceFile() throws {
        let trace = RateTrace(start: ScheduleTests.utc("2027-06-01T00:00:00Z"), step: 300, rates: [1, 2.5, 300])
        #expect(try RateTrace(parsing: trace.text) == trace)
        #expect(trace.rate(at: ScheduleTests.utc("2027-06-01T00:04:59Z")) == 1)
        #expect(trace.rate(at: ScheduleTests.utc("2027-06-01T00:05:00Z")) == 2.5)
        #expect(trace.rate(at: ScheduleTests.utc("2027-06-01T00:15:00Z")) == 0)
        #expect(throws: RateTrace.FormatError.self) { try RateTrace(parsing: "1\n2\n") }
        do {
            _ = try RateTrace(parsing: "# start=2027-06-01T00:00:00Z step-seconds=60\n1\nfast\n")
            Issue.record("a word is not a rate")
        } catch {
            #expect(error.line == 3)
        }
    }

    @Test("The shipped trace is the generator's output for its seed: regenerated, it is byte for byte the same")
    func shippedTrace() throws {
        let (trace, bookings) = SeasonTraceGenerator(seed: 2027).generate()
        #expect(try String(contentsOfFile: Self.shipped, encoding: .utf8) == trace.text)
        let csv = try String(contentsOfFile: SimulateCommand.bookingsPath(for: Self.shipped), encoding: .utf8)
        #expect(csv == WeddingBooking.csv(bookings))
        let parsed = try WeddingBooking.parse(csv: csv)
        #expect(parsed.count == bookings.count)
        // The season: July's Saturdays carry several times March's weddings; a bank-holiday Monday has weddings.
        func weddings(on day: String) -> Int {
            parsed.filter { CalendarDay($0.start, in: TimeZone(identifier: "Europe/London")!).description == day }
                .reduce(0) { $0 + $1.weddings }
        }
        #expect(weddings(on: "2027-07-10") > 3 * weddings(on: "2027-03-13"))
        #expect(weddings(on: "2027-05-31") > 100)
        #expect(weddings(on: "2027-06-01") == 0)
    }

    @Test("Three June weeks: the calendar policy misses no Saturday-morning minute that HPA misses, nor more overall")
    func replay() throws {
        let full = try RateTrace(parsing: try String(contentsOfFile: Self.shipped, encoding: .utf8))
        let from = ScheduleTests.utc("2027-06-07T00:00:00Z")
        let offset = Int(from.timeIntervalSince(full.start) / full.step)
        let slice = RateTrace(start: from, step: full.step, rates: Array(full.rates[offset..<(offset + 21 * 288)]))
        let bookings = try WeddingBooking.parse(
            csv: try String(contentsOfFile: SimulateCommand.bookingsPath(for: Self.shipped), encoding: .utf8)
        )
        let file = try AutoscalingFile.load(
            path: AutoscalingFileTests.repository.appendingPathComponent("infrastructure/autoscaling.yaml").path
        )
        let simulator = ReplaySimulator(trace: slice, bookings: bookings)
        let hpa = simulator.run(.hpa, target: file.targets[0])
        let calendar = simulator.run(.calendar, target: file.targets[0])
        #expect(hpa.rampViolationMinutes > 0, "the Saturday-morning ramp outruns HPA: \(hpa)")
        #expect(calendar.rampViolationMinutes == 0, "\(calendar)")
        #expect(calendar.violationMinutes <= hpa.violationMinutes)
    }
}
