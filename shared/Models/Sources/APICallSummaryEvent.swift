import Foundation

/// The API calls of one route, method, status class and cache result over one 10-second window, as a process that
/// aggregates its own calls sends them (the gateway does, rather than one ``APICallEvent`` per request): how many,
/// and every duration in whole microseconds with how many calls took it.
///
/// The metrics service folds a summary into the same bucket the calls would have reached one by one, with the same
/// rounding (`durationMs × 1000`, rounded, at least 1), so its figures are exactly those of the single events.
/// Summaries of one window may arrive in parts (a sender ships what it has every few seconds): they add up.
///
/// `{"type":"api_call_summary","timestamp":"2026-06-13T14:00:00.000Z","route":"/api/clients","method":"GET",
/// "statusClass":2,"cache":"HIT","count":3,"durationsUs":[[412,2],[1250,1]]}`
public struct APICallSummaryEvent: Codable, Sendable, Equatable {
    /// The start of the window (a multiple of 10 seconds since 1970).
    public var timestamp: Date
    public var route: String
    public var method: String
    /// The status's first digit, 1 to 5.
    public var statusClass: Int
    public var cache: CacheResult?
    /// Calls in the window: the sum of the counts in ``durationsUs``.
    public var count: Int
    /// `[microseconds, calls]` pairs, each duration once.
    public var durationsUs: [[Int]]

    public init(
        timestamp: Date,
        route: String,
        method: String,
        statusClass: Int,
        cache: CacheResult?,
        count: Int,
        durationsUs: [[Int]]
    ) {
        self.timestamp = timestamp
        self.route = route
        self.method = method
        self.statusClass = statusClass
        self.cache = cache
        self.count = count
        self.durationsUs = durationsUs
    }

    /// The window length every sender aggregates over, and the metrics service's finest bucket.
    public static let windowSeconds: Int64 = 10

    /// Most `[microseconds, calls]` pairs in one summary (about 16 KB of JSON): beyond it the sender splits the
    /// window into several summaries, so a batch of ``batchSize`` summaries stays well inside the metrics service's
    /// body limit (1 MiB).
    public static let maximumPairs = 1_000

    /// Summaries a sender puts in one `POST /v1/events`.
    public static let batchSize = 32

    /// The whole microseconds a call of `durationMs` counts as: the metrics service's own rounding.
    public static func microseconds(durationMs: Double) -> Int {
        let highest = MetricEventBounds.maximumDurationMs * 1000
        guard durationMs.isFinite else { return Int(highest) }
        return Int(Swift.max(1, Swift.min(highest, (durationMs * 1000).rounded())))
    }
}
