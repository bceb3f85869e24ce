import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import WedSyncModels

#if canImport(Glibc)
    import Glibc
#endif

/// API calls counted in the process and shipped as aggregates: per 10-second window, route, method, status class
/// and cache result, the number of calls of each whole-microsecond duration (``APICallSummaryEvent``). Recording a
/// call is a lock (one of a few, by thread) and two dictionary increments, never an allocation per call or a JSON
/// document per call; every
/// `flushInterval` what was counted is handed to a ``BackgroundDelivery`` as a few summaries, and what is left is
/// handed over at shutdown (register this service after the delivery, so it stops first).
///
/// The metrics service folds the summaries into the buckets the single calls would have reached, with the same
/// rounding, so its counts, error and hit ratios and percentiles are exactly those of one event per call.
public final class APICallAggregator: Service, Sendable {
    struct Key: Hashable, Sendable {
        var route: String
        var method: String
        var statusClass: Int
        var cache: CacheResult?
        var tier: APICallSummaryEvent.Tier?
        var namespace: String?
    }

    /// The calls of one route, method, status class and cache result: by window, the calls of each duration (whole
    /// microseconds). A caller that records the same series again and again keeps it (``series(route:method:status:cache:)``)
    /// and skips the lookup.
    public final class Series: Sendable {
        let key: Key
        /// The counts in shards, each thread recording into its own (``ThreadSlot``): event loops answering the same
        /// route at once never wait on one lock.
        fileprivate let shards: [Shard] = (0..<16).map { _ in Shard() }

        /// Padded so that two shards allocated one after the other never share a cache line.
        fileprivate final class Shard: Sendable {
            let windows = Mutex(Windows())
            private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (
                0, 0, 0, 0, 0, 0, 0, 0
            )
        }

        /// A shard's counts: the window being recorded apart (one lookup a call), the ones before it by start.
        fileprivate struct Windows {
            var current: Int64 = .min
            var counts: [Int: Int] = [:]
            var earlier: [Int64: [Int: Int]] = [:]

            mutating func count(_ micros: Int, in window: Int64) {
                if window != current {
                    if !counts.isEmpty { earlier[current, default: [:]].merge(counts, uniquingKeysWith: +) }
                    current = window
                    counts = earlier.removeValue(forKey: window) ?? [:]
                }
                counts[micros, default: 0] += 1
            }

            /// Every window's counts, leaving none.
            mutating func take() -> [Int64: [Int: Int]] {
                var all = earlier
                if !counts.isEmpty { all[current, default: [:]].merge(counts, uniquingKeysWith: +) }
                self = Windows()
                return all
            }
        }

        init(_ key: Key) {
            self.key = key
        }

        /// Counts one call of `durationMs` that ended at `at`.
        public func record(durationMs: Double, at date: Date = Date()) {
            record(durationMs: durationMs, atSeconds: date.timeIntervalSince1970)
        }

        /// Counts one call of `durationMs` that ended `seconds` after 1970 (a clock the caller read already).
        public func record(durationMs: Double, atSeconds seconds: Double) {
            let seconds = Int64(seconds.rounded(.down))
            let width = APICallSummaryEvent.windowSeconds
            let window = seconds - ((seconds % width) + width) % width
            let micros = APICallSummaryEvent.microseconds(durationMs: durationMs)
            shards[ThreadSlot.current % shards.count].windows.withLock { $0.count(micros, in: window) }
        }

        /// The counts so far, by window and duration, taken out of every shard.
        fileprivate func take() -> [Int64: [Int: Int]] {
            var merged: [Int64: [Int: Int]] = [:]
            for shard in shards {
                for (window, durations) in shard.windows.withLock({ $0.take() }) {
                    merged[window, default: [:]].merge(durations, uniquingKeysWith: +)
                }
            }
            return merged
        }
    }

    private let series = Mutex<[Key: Series]>([:])
    private let delivery: BackgroundDelivery<MetricEvent>
    public let flushInterval: Duration
    let logger: Logger

    public init(delivery: BackgroundDelivery<MetricEvent>, flushInterval: Duration = .seconds(10), logger: Logger) {
        self.delivery = delivery
        self.flushInterval = flushInterval
        self.logger = logger
    }

    /// The series of calls to `route` with `method` answered `status` with `cache`, from `tier` of the cache
    /// `namespace` when the calls were cache lookups.
    public func series(
        route: String,
        method: String,
        status: Int,
        cache: CacheResult?,
        tier: APICallSummaryEvent.Tier? = nil,
        namespace: String? = nil
    ) -> Series {
        let key = Key(
            route: route,
            method: method,
            statusClass: min(5, max(1, status / 100)),
            cache: cache,
            tier: namespace == nil ? nil : tier,
            namespace: tier == nil ? nil : namespace
        )
        return series.withLock { table in
            if let known = table[key] { return known }
            let made = Series(key)
            table[key] = made
            return made
        }
    }

    /// Counts one call that ended at `at`.
    public func record(
        route: String,
        method: String,
        status: Int,
        cache: CacheResult?,
        tier: APICallSummaryEvent.Tier? = nil,
        namespace: String? = nil,
        durationMs: Double,
        at date: Date = Date()
    ) {
        series(route: route, method: method, status: status, cache: cache, tier: tier, namespace: namespace)
            .record(durationMs: durationMs, at: date)
    }

    /// Takes what was counted so far, as summaries (a window with more distinct durations than one summary holds
    /// is split into several).
    public func drain() -> [MetricEvent] {
        let all = series.withLock { Array($0.values) }
        var taken: [(Key, Int64, [Int: Int])] = []
        for one in all {
            for (window, durations) in one.take() { taken.append((one.key, window, durations)) }
        }
        var events: [MetricEvent] = []
        for (key, window, durations) in taken.sorted(by: { $0.1 < $1.1 }) {
            let pairs = durations.sorted { $0.key < $1.key }.map { [$0.key, $0.value] }
            var start = 0
            while start < pairs.count {
                let part = pairs[start..<min(pairs.count, start + APICallSummaryEvent.maximumPairs)]
                events.append(
                    .apiCallSummary(
                        APICallSummaryEvent(
                            timestamp: Date(timeIntervalSince1970: Double(window)),
                            route: key.route,
                            method: key.method,
                            statusClass: key.statusClass,
                            cache: key.cache,
                            tier: key.tier,
                            namespace: key.namespace,
                            count: part.reduce(0) { $0 + $1[1] },
                            durationsUs: Array(part)
                        )
                    )
                )
                start += part.count
            }
        }
        return events
    }

    /// Hands what was counted to the delivery now (also done every `flushInterval`, and at shutdown).
    @discardableResult
    public func flush() -> Int {
        let events = drain()
        guard !events.isEmpty else { return 0 }
        let queued = delivery.submit(contentsOf: events)
        if queued < events.count {
            logger.warning(
                "api call summaries dropped: the delivery queue is full",
                metadata: ["delivery.dropped": "\(events.count - queued)"]
            )
        }
        return queued
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.flushInterval)
                self.flush()
            }
        }
        flush()
    }
}
