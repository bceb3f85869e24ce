import Foundation

/// The API calls of one route, method, status class and cache result over one 10-second window, as a process that
/// aggregates its own calls sends them (the gateway does, rather than one ``APICallEvent`` per request): how many,
/// and every duration in whole microseconds with how many calls took it.
///
/// The metrics service folds a summary into the same bucket the calls would have reached one by one, with the same
/// rounding (`durationMs × 1000`, rounded, at least 1), so its figures are exactly those of the single events.
/// Summaries of one window may arrive in parts (a sender ships what it has every few seconds): they add up.
///
/// A cache in front of an origin also says which tier answered (``tier``: `L1`, `L2`, or `origin` for a miss or a
/// revalidation) and of which cache (``namespace``: `gw` for the gateway's, the namespace for the cache service's):
/// the metrics service then counts the same calls per tier as well (hit ratio and latency of each).
///
/// `{"type":"api_call_summary","timestamp":"2026-06-13T14:00:00.000Z","route":"/api/clients","method":"GET",
/// "statusClass":2,"cache":"HIT","tier":"L1","namespace":"gw","count":3,"durationsUs":[[412,2],[1250,1]]}`
public struct APICallSummaryEvent: Codable, Sendable, Equatable {
    /// The tiers a cache answers from, in the order a lookup tries them (``origin``: none of them did).
    public enum Tier: String, Codable, Sendable, CaseIterable {
        case l1 = "L1"
        case l2 = "L2"
        case origin
    }

    /// The start of the window (a multiple of 10 seconds since 1970).
    public var timestamp: Date
    public var route: String
    public var method: String
    /// The status's first digit, 1 to 5.
    public var statusClass: Int
    public var cache: CacheResult?
    /// The tier that answered, for a cache lookup; `nil` when the calls were no lookup.
    public var tier: Tier?
    /// The cache the tier belongs to (`gw`, or a cache service namespace); with ``tier``.
    public var namespace: String?
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
        tier: Tier? = nil,
        namespace: String? = nil,
        count: Int,
        durationsUs: [[Int]]
    ) {
        self.timestamp = timestamp
        self.route = route
        self.method = method
        self.statusClass = statusClass
        self.cache = cache
        self.tier = tier
        self.namespace = namespace
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
