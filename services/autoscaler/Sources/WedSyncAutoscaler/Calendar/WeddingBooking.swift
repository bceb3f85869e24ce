import Foundation
import WedSyncModels

/// Weddings booked to start in one hour of one day, in one time zone: what the API's calendar endpoint returns per
/// date and hour, across every organization (counts only, no names). The shared model the API answers with.
public typealias WeddingBooking = WeddingHour

/// The forecast replicas for one hour (AWS predictive scaling's hourly forecast).
public struct ForecastHour: Sendable, Codable, Equatable {
    public var start: Date
    public var replicas: Int

    public init(start: Date, replicas: Int) {
        self.start = start
        self.replicas = replicas
    }
}

extension CalendarFloor {
    /// The weddings in play at `instant` (starting within the lead time, or under way), and the earliest hour among
    /// them.
    public func inPlay(_ bookings: [WeddingBooking], at instant: Date) -> (weddings: Int, first: WeddingBooking?) {
        let inPlay = bookings.filter {
            $0.start.addingTimeInterval(-lead.seconds) <= instant
                && instant < $0.start.addingTimeInterval(duration.seconds)
        }
        return (inPlay.reduce(0) { $0 + $1.weddings }, inPlay.min { $0.start < $1.start })
    }

    /// The replicas the bookings ask for at `instant`: `ceil(weddings in play / weddings per replica)`.
    public func replicas(_ bookings: [WeddingBooking], at instant: Date) -> Int {
        let weddings = inPlay(bookings, at: instant).weddings
        return weddings == 0 ? 0 : Int((Double(weddings) / weddingsPerReplica).rounded(.up))
    }

    /// The time zones with a ceremony window live at `instant`, sorted.
    public func liveZones(_ bookings: [WeddingBooking], at instant: Date) -> [String] {
        Set(
            bookings.filter {
                $0.weddings > 0 && $0.start <= instant && instant < $0.start.addingTimeInterval(ceremonyWindow.seconds)
            }
            .map(\.timeZone)
        )
        .sorted()
    }
}

extension PredictiveScaling {
    /// The forecast floor at `instant`: the replicas of the hour under way and of the hour the lead time reaches, so
    /// each hour's capacity is in place `lead` before it starts.
    public func replicas(_ forecast: [ForecastHour], at instant: Date) -> (replicas: Int, hour: ForecastHour?) {
        let ahead = instant.addingTimeInterval(lead.seconds)
        let covering = forecast.filter { hour in
            [instant, ahead].contains { $0 >= hour.start && $0 < hour.start.addingTimeInterval(3600) }
        }
        guard let top = covering.max(by: { $0.replicas < $1.replicas }) else { return (0, nil) }
        return (top.replicas, top)
    }
}
