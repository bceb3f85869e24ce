import Atomics

/// A lock-free histogram of durations: log-linear buckets (8 per power of two, so any percentile is within 12.5%)
/// of atomic counters, cheap enough to record every L1 read from every thread.
public final class LatencyHistogram: Sendable {
    private static let subBuckets = 8
    private static let bucketCount = 8 + 41 * subBuckets
    private let buckets: [ManagedAtomic<Int>]

    public init() {
        buckets = (0..<Self.bucketCount).map { _ in ManagedAtomic(0) }
    }

    /// Records one duration, in nanoseconds.
    public func record(nanoseconds: UInt64) {
        buckets[Self.bucket(of: nanoseconds)].wrappingIncrement(ordering: .relaxed)
    }

    public func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = max(0, seconds) * 1_000_000_000 + attoseconds / 1_000_000_000
        record(nanoseconds: UInt64(max(0, nanoseconds)))
    }

    public var count: Int { buckets.reduce(0) { $0 + $1.load(ordering: .relaxed) } }

    /// The `quantile` (0...1) in nanoseconds (a bucket's midpoint), 0 when nothing was recorded.
    public func quantile(_ quantile: Double) -> Double {
        let counts = buckets.map { $0.load(ordering: .relaxed) }
        let total = counts.reduce(0, +)
        guard total > 0 else { return 0 }
        let rank = max(1, Int((quantile * Double(total)).rounded(.up)))
        var seen = 0
        for (index, count) in counts.enumerated() {
            seen += count
            if seen >= rank {
                let (low, high) = Self.bounds(of: index)
                return (low + high) / 2
            }
        }
        return Self.bounds(of: counts.count - 1).1
    }

    static func bucket(of value: UInt64) -> Int {
        guard value >= 8 else { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount  // >= 3
        let sub = Int((value >> UInt64(exponent - 3)) & 7)
        return min(bucketCount - 1, 8 + (exponent - 3) * subBuckets + sub)
    }

    static func bounds(of index: Int) -> (Double, Double) {
        guard index >= 8 else { return (Double(index), Double(index) + 1) }
        let exponent = (index - 8) / subBuckets + 3
        let sub = (index - 8) % subBuckets
        let width = Double(UInt64(1) << UInt64(exponent - 3))
        let low = Double(UInt64(1) << UInt64(exponent)) + Double(sub) * width
        return (low, low + width)
    }
}
