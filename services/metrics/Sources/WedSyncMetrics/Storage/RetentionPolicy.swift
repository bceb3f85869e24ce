/// How long each resolution is kept: the 10-second buckets for recent detail, the 1-minute ones for the week's
/// graphs, and the hourly ones for a year and more of seasons (capacity planning compares Saturdays and summers).
public struct RetentionPolicy: Sendable, Equatable {
    /// Resolution in seconds → how many seconds its buckets are kept.
    public var seconds: [Int64: Int64]

    public init(
        tenSeconds: Duration = .seconds(2 * 86_400),
        oneMinute: Duration = .seconds(15 * 86_400),
        oneHour: Duration = .seconds(400 * 86_400)
    ) {
        seconds = [
            10: Int64(tenSeconds / .seconds(1)), 60: Int64(oneMinute / .seconds(1)),
            3_600: Int64(oneHour / .seconds(1)),
        ]
    }

    /// How long buckets of `resolution` are kept; the longest when the resolution is not one of ours.
    public func keeps(_ resolution: Int64) -> Int64 {
        seconds[resolution] ?? seconds.values.max() ?? 0
    }

    /// Whether buckets of `resolution` that start at `start` are still kept at `now`.
    public func holds(_ resolution: Int64, start: Int64, now: Int64) -> Bool {
        start >= now - keeps(resolution)
    }
}
