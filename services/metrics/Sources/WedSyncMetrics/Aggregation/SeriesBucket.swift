import Histogram

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

/// One series over one bucket of time: how many, how many failed, how many cache lookups hit, and the durations in
/// an HdrHistogram (microseconds, 3 significant digits: any percentile within 0.1% of the recorded value).
public struct SeriesBucket: Sendable {
    public var count: Int = 0
    public var errors: Int = 0
    public var cacheLookups: Int = 0
    public var cacheHits: Int = 0
    public var durations = SeriesBucket.emptyHistogram()

    /// Up to one hour, in microseconds.
    public static let highestMicros: UInt64 = 3_600_000_000

    static func emptyHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestMicros, numberOfSignificantValueDigits: .three)
    }

    public init() {}

    public mutating func record(durationMs: Double, failed: Bool, cacheHit: Bool?) {
        count += 1
        if failed { errors += 1 }
        if let cacheHit {
            cacheLookups += 1
            if cacheHit { cacheHits += 1 }
        }
        let micros = UInt64(max(1, min(Double(Self.highestMicros), (durationMs * 1000).rounded())))
        _ = durations.record(micros)
    }

    public mutating func add(_ other: SeriesBucket) {
        count += other.count
        errors += other.errors
        cacheLookups += other.cacheLookups
        cacheHits += other.cacheHits
        durations.add(other.durations)
    }

    /// The duration at `percentile` (0 to 100), milliseconds.
    public func percentileMs(_ percentile: Double) -> Double {
        count == 0 ? 0 : Double(durations.valueAtPercentile(percentile)) / 1000
    }

    // MARK: Storage

    /// The histogram as (value, count) pairs of its non-empty buckets, 8 + 8 bytes each.
    func encodedDurations() -> [UInt8] {
        var bytes: [UInt8] = []
        for item in durations.recordedValues() {
            withUnsafeBytes(of: item.value.littleEndian) { bytes.append(contentsOf: $0) }
            withUnsafeBytes(of: UInt64(item.count).littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    static func decodeDurations(_ bytes: [UInt8]) -> Histogram<UInt64> {
        var histogram = emptyHistogram()
        var offset = 0
        while offset + 16 <= bytes.count {
            let value = bytes[offset..<offset + 8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            let count = bytes[offset + 8..<offset + 16].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            _ = histogram.record(value, count: count)
            offset += 16
        }
        return histogram
    }
}
