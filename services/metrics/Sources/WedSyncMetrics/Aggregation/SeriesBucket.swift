import Histogram
import WedSyncModels

/// What one series is: an API route and method, a database statement's fingerprint, or a cache namespace and
/// operation. Routes are templates and fingerprints carry no values, so series stay few.
public struct SeriesKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// `api`, `db` or `cache`.
    public var kind: String
    /// The route template, the fingerprint, or `namespace/tier`.
    public var name: String
    /// The HTTP method, or the cache operation; empty for statements.
    public var method: String

    public init(kind: String, name: String, method: String) {
        self.kind = kind
        self.name = name
        self.method = method
    }

    /// `kind|method|name`, the key in storage.
    public var description: String { "\(kind)|\(method)|\(name)" }

    public init?(_ text: String) {
        let parts = text.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        self.init(kind: String(parts[0]), name: String(parts[2]), method: String(parts[1]))
    }

    public static func < (lhs: SeriesKey, rhs: SeriesKey) -> Bool { lhs.description < rhs.description }
}

/// Durations as HdrHistogram counts them (3 significant digits: every value is kept to within 0.1%), stored
/// sparsely: only the histogram slots that hold something, so a bucket costs a few kilobytes rather than the
/// 188 KB of a full histogram up to an hour.
public struct SparseDurations: Sendable, Equatable {
    /// Slot (the lowest value it stands for) → count.
    private(set) var counts: [UInt64: UInt64] = [:]
    public private(set) var total: UInt64 = 0
    public private(set) var min: UInt64 = .max
    public private(set) var max: UInt64 = 0

    /// The slot layout of the histogram the counts follow (never recorded into).
    static let layout = Histogram<UInt64>(
        lowestDiscernibleValue: 1,
        highestTrackableValue: SeriesBucket.highestMicros,
        numberOfSignificantValueDigits: .three
    )

    public init() {}

    public mutating func record(_ value: UInt64, count: UInt64 = 1) {
        let value = Swift.min(Swift.max(value, 1), SeriesBucket.highestMicros)
        counts[Self.layout.lowestEquivalentForValue(value), default: 0] &+= count
        total &+= count
        min = Swift.min(min, value)
        max = Swift.max(max, value)
    }

    public mutating func add(_ other: SparseDurations) {
        for (slot, count) in other.counts { counts[slot, default: 0] &+= count }
        total &+= other.total
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    /// The value at `percentile` (0 to 100), as HdrHistogram's `valueAtPercentile` answers it; 0 when empty.
    public func value(atPercentile percentile: Double) -> UInt64 {
        guard total > 0 else { return 0 }
        if percentile <= 0 { return min }
        if percentile >= 100 { return max }
        let wanted = Swift.max(1, UInt64((percentile.nextDown * Double(total) / 100).rounded(.up)))
        var running: UInt64 = 0
        for slot in counts.keys.sorted() {
            running &+= counts[slot] ?? 0
            if running >= wanted { return Swift.max(Swift.min(Self.layout.highestEquivalentForValue(slot), max), min) }
        }
        return max
    }

    /// How many values were above `value` (to within the slots' 0.1%: a slot counts when its lowest value is).
    public func count(above value: UInt64) -> UInt64 {
        guard max > value else { return 0 }
        return counts.reduce(0) { $1.key > value ? $0 &+ $1.value : $0 }
    }

    /// `min`, `max`, then (slot, count) pairs, 8 bytes each, little-endian.
    func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 + counts.count * 16)
        func append(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        append(total == 0 ? 0 : min)
        append(max)
        for (slot, count) in counts {
            append(slot)
            append(count)
        }
        return bytes
    }

    init(decoding bytes: [UInt8]) {
        func read(_ offset: Int) -> UInt64 {
            bytes[offset..<offset + 8].enumerated().reduce(UInt64(0)) {
                $0 | UInt64($1.element) << (8 * UInt64($1.offset))
            }
        }
        guard bytes.count >= 16 else { return }
        var offset = 16
        while offset + 16 <= bytes.count {
            let slot = read(offset)
            let count = read(offset + 8)
            if slot >= 1, slot <= SeriesBucket.highestMicros, count > 0 {
                counts[slot, default: 0] &+= count
                total &+= count
            }
            offset += 16
        }
        guard total > 0 else { return }
        min = Swift.max(1, read(0))
        max = Swift.max(min, Swift.min(read(8), SeriesBucket.highestMicros))
    }
}

/// One series over one bucket of time: how many, how many failed, how many cache lookups hit, and the durations
/// (microseconds, HdrHistogram slots).
public struct SeriesBucket: Sendable {
    public var count: Int = 0
    public var errors: Int = 0
    public var cacheLookups: Int = 0
    public var cacheHits: Int = 0
    public var durations = SparseDurations()

    /// Up to one hour, in microseconds.
    public static let highestMicros: UInt64 = 3_600_000_000

    public init() {}

    public mutating func record(durationMs: Double, failed: Bool, cacheHit: Bool?) {
        record(
            microseconds: UInt64(APICallSummaryEvent.microseconds(durationMs: durationMs)),
            calls: 1,
            failed: failed,
            cacheHit: cacheHit
        )
    }

    /// `calls` requests that each took `microseconds` (a line of an ``APICallSummaryEvent``).
    public mutating func record(microseconds: UInt64, calls: Int, failed: Bool, cacheHit: Bool?) {
        count += calls
        if failed { errors += calls }
        if let cacheHit {
            cacheLookups += calls
            if cacheHit { cacheHits += calls }
        }
        durations.record(microseconds, count: UInt64(calls))
    }

    public mutating func add(_ other: SeriesBucket) {
        count += other.count
        errors += other.errors
        cacheLookups += other.cacheLookups
        cacheHits += other.cacheHits
        durations.add(other.durations)
    }

    /// One metric of the bucket over `seconds`: `p50`, `p95`, `p99` (milliseconds), `rate` (per second),
    /// `error_rate`, `cache_hit_ratio` (shares) or `count`; `nil` without requests (or lookups) or for another name.
    public func value(of metric: String, seconds: Double) -> Double? {
        // A cache tier's lookups may all have missed it: a ratio of 0 with no call answered.
        if metric == "cache_hit_ratio" { return cacheLookups == 0 ? nil : Double(cacheHits) / Double(cacheLookups) }
        guard count > 0 else { return nil }
        switch metric {
        case "p50": return percentileMs(50)
        case "p95": return percentileMs(95)
        case "p99": return percentileMs(99)
        case "rate": return Double(count) / seconds
        case "error_rate": return Double(errors) / Double(count)
        case "count": return Double(count)
        default: return nil
        }
    }

    /// The duration at `percentile` (0 to 100), milliseconds.
    public func percentileMs(_ percentile: Double) -> Double {
        count == 0 ? 0 : Double(durations.value(atPercentile: percentile)) / 1000
    }

    // MARK: Storage

    func encodedDurations() -> [UInt8] { durations.encoded() }

    static func decodeDurations(_ bytes: [UInt8]) -> SparseDurations { SparseDurations(decoding: bytes) }
}
