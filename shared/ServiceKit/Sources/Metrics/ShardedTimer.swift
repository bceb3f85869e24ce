import Synchronization

/// A count and a latency histogram (the buckets of every service's timers, from 0.5 ms to 10 s) for one set of
/// labels, recorded by each thread in a shard of its own (``ThreadSlot``) and summed when read: for the hottest
/// paths, where one lock or counter shared by the event loops would be written from two cores on every request.
/// Read through a ``PrometheusCollector`` that writes it out.
public final class ShardedTimer: Sendable {
    /// Upper bounds of the buckets in nanoseconds (the last bucket, `+Inf`, is implicit).
    public static let bounds: [Int64] = HelpfulPrometheusFactory.durationBuckets.map {
        let (seconds, attoseconds) = $0.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// What was recorded so far.
    public struct Snapshot: Sendable, Equatable {
        public var count = 0
        public var sumNanoseconds: Int64 = 0
        /// Per bucket of ``ShardedTimer/bounds`` and the one above them, not cumulative.
        public var buckets = [Int](repeating: 0, count: ShardedTimer.bounds.count + 1)

        public init() {}

        /// Adds `other`'s figures to these.
        public mutating func add(_ other: Snapshot) {
            count += other.count
            sumNanoseconds &+= other.sumNanoseconds
            for index in buckets.indices { buckets[index] += other.buckets[index] }
        }
    }

    /// One thread's figures, inline (no array of its own on the heap, which would sit beside another shard's), the
    /// object padded so that two shards allocated one after the other never share a cache line.
    private final class Shard: Sendable {
        struct State {
            var count = 0
            var sumNanoseconds: Int64 = 0
            var buckets = InlineArray<15, Int>(repeating: 0)
        }

        let state = Mutex(State())
        private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    }

    private let shards: [Shard]

    /// `shards` threads record apart (later threads share them in turn).
    public init(shards: Int = 16) {
        precondition(Self.bounds.count + 1 == 15, "a shard keeps 15 buckets inline")
        self.shards = (0..<max(1, shards)).map { _ in Shard() }
    }

    /// Records one duration.
    public func record(nanoseconds: Int64) {
        let bucket = Self.bucket(of: nanoseconds)
        shards[ThreadSlot.current % shards.count].state.withLock { state in
            state.count += 1
            state.sumNanoseconds &+= max(0, nanoseconds)
            state.buckets[bucket] += 1
        }
    }

    /// The figures of every shard, summed.
    public func snapshot() -> Snapshot {
        var total = Snapshot()
        for shard in shards {
            let state = shard.state.withLock { $0 }
            total.count += state.count
            total.sumNanoseconds &+= state.sumNanoseconds
            for index in total.buckets.indices { total.buckets[index] += state.buckets[index] }
        }
        return total
    }

    static func bucket(of nanoseconds: Int64) -> Int {
        var index = 0
        while index < bounds.count, nanoseconds > bounds[index] { index += 1 }
        return index
    }
}
