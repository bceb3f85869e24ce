import Foundation
import Logging
import WedSyncModels
import WedSyncServiceKit

/// The metrics service's capacity forecast (`GET /v1/capacity`, with this service's own token) as hours: each hour
/// of next Saturday (UTC) needs the replicas its forecast peak needs. Read again once the target's predictive
/// `refresh` has passed (6 h, as AWS refreshes its forecasts); the last one read is kept when a read fails.
public actor ForecastSource {
    /// The part of the metrics service's `CapacityForecast` the autoscaler reads.
    struct Forecast: Decodable, Sendable {
        /// `YYYY-MM-DD`.
        var nextSaturday: String
        var replicasNeeded: Int
    }

    let client: ServiceClient
    let logger: Logger
    private var hours: [ForecastHour]?
    private var readAt: ContinuousClock.Instant?
    private var failedAt: ContinuousClock.Instant?

    public init(client: ServiceClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The forecast's hours: those read within `refresh`, or read now; `nil` before a forecast was read (the
    /// metrics service answers 404 before it holds an hour of traffic).
    public func hours(refresh: Duration) async -> [ForecastHour]? {
        let clock = ContinuousClock.now
        let due = readAt.map { clock - $0 >= refresh } ?? true
        let backingOff = failedAt.map { clock - $0 < .seconds(60) } ?? false
        guard due, !backingOff else { return hours }
        do {
            let forecast = try await client.get("/v1/capacity", as: Forecast.self)
            hours = Self.hours(forecast)
            readAt = clock
            failedAt = nil
        } catch {
            failedAt = clock
            logger.notice("capacity forecast unreadable", metadata: ["error": "\(error)"])
        }
        return hours
    }

    /// The 24 hours of the forecast's Saturday (UTC), each needing its replicas; none for a date that does not parse.
    static func hours(_ forecast: Forecast) -> [ForecastHour] {
        guard let day = CalendarDay(forecast.nextSaturday) else { return [] }
        let start = Date(timeIntervalSince1970: TimeInterval(day.daysSinceEpoch) * 86_400)
        return (0..<24).map {
            ForecastHour(start: start.addingTimeInterval(TimeInterval($0) * 3_600), replicas: forecast.replicasNeeded)
        }
    }
}
