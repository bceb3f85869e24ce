import Foundation
import Logging
import Synchronization
import Testing
import WedSyncModels
import WedSyncServiceKit

@Suite("Figures recorded per thread and summed when read")
struct ShardedTimerTests {
    @Test("Threads recording at once lose nothing: count, buckets and sum are exact when read")
    func concurrentThreads() async throws {
        let timer = ShardedTimer(shards: 4)
        let threads = 8
        let perThread = 20_000
        // 0.3 ms, 3 ms and 30 s: the first bucket, the 5 ms bucket, and above every bound.
        let durations: [Int64] = [300_000, 3_000_000, 30_000_000_000]
        let finished = Atomic<Int>(0)
        for _ in 0..<threads {
            let thread = Thread {
                for index in 0..<perThread { timer.record(nanoseconds: durations[index % durations.count]) }
                finished.add(1, ordering: .releasing)
            }
            thread.start()
        }
        while finished.load(ordering: .acquiring) < threads { try await Task.sleep(for: .milliseconds(5)) }
        let snapshot = timer.snapshot()
        let total = threads * perThread
        #expect(snapshot.count == total)
        #expect(snapshot.buckets.reduce(0, +) == total)
        let each = (0..<perThread).filter { $0 % durations.count == 0 }.count * threads
        #expect(snapshot.buckets[0] == each, "0.3 ms is at most the 0.5 ms bound")
        #expect(snapshot.buckets[ShardedTimer.bounds.firstIndex(of: 5_000_000)!] > 0)
        #expect(snapshot.buckets.last! > 0, "30 s is above every bound")
        let sum = (0..<perThread).reduce(Int64(0)) { $0 + durations[$1 % durations.count] } * Int64(threads)
        #expect(snapshot.sumNanoseconds == sum)
    }

    @Test("A bound itself falls in its own bucket (le is at most)")
    func bounds() {
        let timer = ShardedTimer()
        timer.record(nanoseconds: ShardedTimer.bounds[0])
        timer.record(nanoseconds: ShardedTimer.bounds[0] + 1)
        let snapshot = timer.snapshot()
        #expect(snapshot.buckets[0] == 1 && snapshot.buckets[1] == 1)
    }

    @Test("The exposition writes cumulative buckets, +Inf, _sum in seconds and _count, with labels escaped")
    func exposition() {
        let timer = ShardedTimer()
        timer.record(nanoseconds: 400_000)
        timer.record(nanoseconds: 4_000_000)
        var exposition = PrometheusExposition()
        exposition.family("demo_seconds", type: "histogram", help: "A demo.\nSecond line.")
        exposition.histogram("demo_seconds", labels: [("route", #"/a"b\c"#)], timer.snapshot())
        let text = String(decoding: exposition.bytes, as: UTF8.self)
        #expect(text.hasPrefix("# HELP demo_seconds A demo.\\nSecond line.\n# TYPE demo_seconds histogram\n"))
        #expect(text.contains(#"demo_seconds_bucket{route="/a\"b\\c",le="0.0005"} 1"#))
        #expect(text.contains(#"demo_seconds_bucket{route="/a\"b\\c",le="0.005"} 2"#))
        #expect(text.contains(#"demo_seconds_bucket{route="/a\"b\\c",le="+Inf"} 2"#))
        #expect(text.contains(#"demo_seconds_sum{route="/a\"b\\c"} 0.0044"#))
        #expect(text.contains(#"demo_seconds_count{route="/a\"b\\c"} 2"#))
    }

    @Test("The calling thread's slot stays the same; threads get different ones")
    func slots() async {
        let here = ThreadSlot.current
        #expect(ThreadSlot.current == here)
        let other = Mutex<Int?>(nil)
        let done = Atomic<Bool>(false)
        Thread {
            other.withLock { $0 = ThreadSlot.current }
            done.store(true, ordering: .releasing)
        }.start()
        while !done.load(ordering: .acquiring) { await Task.yield() }
        #expect(other.withLock { $0 } != nil && other.withLock { $0 } != here)
    }
}

@Suite("API call aggregates recorded per thread")
struct APICallSeriesTests {
    @Test("Calls recorded from several threads, across windows and back to an earlier one, all come out once")
    func windows() async throws {
        let aggregator = APICallAggregator(
            delivery: BackgroundDelivery<MetricEvent>(name: "test-series", logger: Logger(label: "test")) { _ in },
            logger: Logger(label: "test")
        )
        let series = aggregator.series(route: "/a/{id}", method: "GET", status: 200, cache: .hit)
        let width = Double(APICallSummaryEvent.windowSeconds)
        let start = 1_796_464_000.0 - 1_796_464_000.0.truncatingRemainder(dividingBy: width)
        // Each thread: 300 calls in the first window, 200 in the next, then 100 late ones in the first again.
        let threads = 4
        let finished = Atomic<Int>(0)
        for _ in 0..<threads {
            Thread {
                for index in 0..<300 { series.record(durationMs: Double(index % 3) + 1, atSeconds: start + 1) }
                for _ in 0..<200 { series.record(durationMs: 2, atSeconds: start + width + 2) }
                for _ in 0..<100 { series.record(durationMs: 1, atSeconds: start + width - 1) }
                finished.add(1, ordering: .releasing)
            }.start()
        }
        while finished.load(ordering: .acquiring) < threads { try await Task.sleep(for: .milliseconds(5)) }
        var counts: [Double: [Int: Int]] = [:]
        for event in aggregator.drain() {
            guard case .apiCallSummary(let summary) = event else { continue }
            for pair in summary.durationsUs {
                counts[summary.timestamp.timeIntervalSince1970, default: [:]][pair[0], default: 0] += pair[1]
            }
        }
        #expect(counts[start] == [1_000: (100 + 100) * threads, 2_000: 100 * threads, 3_000: 100 * threads])
        #expect(counts[start + width] == [2_000: 200 * threads])
        #expect(aggregator.drain().isEmpty, "taken once")
    }

    @Test("The coarse clock is the wall clock to the second")
    func coarseClock() {
        let before = Date().timeIntervalSince1970.rounded(.down)
        let coarse = CoarseClock.secondsSince1970
        let after = Date().timeIntervalSince1970
        #expect(coarse >= before && coarse <= after)
    }

}
