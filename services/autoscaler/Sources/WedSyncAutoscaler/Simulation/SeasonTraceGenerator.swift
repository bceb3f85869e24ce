import Foundation
import WedSyncModels

/// Generates the shipped wedding-season trace, the same for the same seed: eight months (March to October) of
/// requests per second at a 5-minute step, and the bookings behind them.
///
/// - **Planning traffic** every day: couples and suppliers at their desks, a daytime hump and an evening one, 40%
///   higher in the May–October season, lighter at weekends.
/// - **Weddings**, mostly on Saturdays (60–100 out of season, up to about 340 in July), a quarter as many on Fridays,
///   fewer on Sundays, and on the three bank-holiday Mondays (the holiday) 60% of a Saturday. They start between
///   11:00 and 15:00 London time (a few in Madrid).
/// - **A wedding's day:** at 07:00 local the day's run sheet is pushed to every supplier of the day and they open it
///   within minutes (2 requests/s a wedding, fading over 20 minutes: the Saturday-morning ramp); suppliers arrive
///   4 h before the start (2 requests/s a wedding), the ceremony hour peaks (3), the reception follows (1.2) for 7 h.
public struct SeasonTraceGenerator: Sendable {
    public var seed: UInt64
    public var start: Date
    public var days: Int
    public var step: TimeInterval = 300

    public init(seed: UInt64 = 2027, start: Date = Date(timeIntervalSince1970: 1_803_859_200), days: Int = 245) {
        self.seed = seed
        self.start = start
        self.days = days
    }

    /// The bank-holiday Mondays of 2027 in England: early May, spring and summer.
    static let holidays: Set<CalendarDay> = [
        CalendarDay("2027-05-03")!, CalendarDay("2027-05-31")!,
        CalendarDay("2027-08-30")!,
    ]

    /// Saturday weddings by month (London), before noise.
    static let saturdayWeddings = [3: 60, 4: 100, 5: 220, 6: 320, 7: 340, 8: 330, 9: 300, 10: 200, 11: 80]

    /// The trace and its bookings.
    public func generate() -> (trace: RateTrace, bookings: [WeddingBooking]) {
        var random = SeededRandom(seed: seed)
        let london = TimeZone(identifier: "Europe/London")!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = london
        var bookings: [WeddingBooking] = []
        let shares: [(hour: Int, share: Double)] = [(11, 0.30), (12, 0.25), (13, 0.20), (14, 0.15), (15, 0.10)]
        for offset in 0..<days {
            let instant = start.addingTimeInterval(Double(offset) * 86_400 + 43_200)
            let date = CalendarDay(instant, in: london)
            let weekday = calendar.component(.weekday, from: instant)
            let base = Double(Self.saturdayWeddings[date.month] ?? 60)
            let share: Double
            if Self.holidays.contains(date) {
                share = 0.6
            } else {
                switch weekday {
                case 7: share = 1
                case 6: share = 0.25
                case 1: share = 0.15
                default: share = 0
                }
            }
            let total = Int((base * share * random.uniform(0.9, 1.1)).rounded())
            guard total > 0 else { continue }
            for (hour, portion) in shares {
                let count = Int((Double(total) * portion).rounded())
                let abroad = Int((Double(count) * 0.05).rounded())
                for (zone, weddings) in [("Europe/London", count - abroad), ("Europe/Madrid", abroad)]
                where weddings > 0 {
                    var zoned = Calendar(identifier: .gregorian)
                    zoned.timeZone = TimeZone(identifier: zone)!
                    let start = zoned.date(
                        from: DateComponents(year: date.year, month: date.month, day: date.day, hour: hour)
                    )!
                    bookings.append(WeddingBooking(start: start, timeZone: zone, weddings: weddings))
                }
            }
        }
        bookings.sort { $0.start < $1.start }

        let points = Int(Double(days) * 86_400 / step)
        var rates = [Double](repeating: 0, count: points)
        for index in 0..<points {
            let instant = start.addingTimeInterval(Double(index) * step)
            rates[index] = planning(at: instant, calendar: calendar) * random.uniform(0.95, 1.05)
        }
        // Each booking adds its day's profile.
        for booking in bookings {
            var zoned = Calendar(identifier: .gregorian)
            zoned.timeZone = TimeZone(identifier: booking.timeZone)!
            let morning = zoned.date(bySettingHour: 7, minute: 0, second: 0, of: booking.start)!
            let first = Int(max(0, morning.timeIntervalSince(start)) / step)
            let last = min(points, Int(booking.start.addingTimeInterval(8 * 3600).timeIntervalSince(start) / step) + 1)
            guard first < last else { continue }
            for index in first..<last {
                let instant = start.addingTimeInterval(Double(index) * step)
                rates[index] +=
                    Double(booking.weddings) * Self.perWedding(at: instant, morning: morning, start: booking.start)
            }
        }
        return (RateTrace(start: start, step: step, rates: rates), bookings)
    }

    /// Requests per second one wedding adds at `instant`.
    static func perWedding(at instant: Date, morning: Date, start: Date) -> Double {
        let sinceMorning = instant.timeIntervalSince(morning) / 60
        var rate = 0.0
        if sinceMorning >= 0, sinceMorning < 20 { rate += 2 * (1 - sinceMorning / 20) }
        let fromStart = instant.timeIntervalSince(start) / 3600
        switch fromStart {
        case -4..<0: rate += 2
        case 0..<1: rate += 3
        case 1..<8: rate += 1.2
        default: break
        }
        return rate
    }

    /// Planning traffic at `instant`: a daytime and an evening hump, heavier in season, lighter at weekends.
    func planning(at instant: Date, calendar: Calendar) -> Double {
        let parts = calendar.dateComponents([.hour, .minute, .weekday, .month], from: instant)
        let hour = Double(parts.hour!) + Double(parts.minute!) / 60
        let day = exp(-pow((hour - 13) / 3.5, 2))
        let evening = 0.6 * exp(-pow((hour - 20.5) / 1.5, 2))
        let season = (5...10).contains(parts.month!) ? 1.4 : 1.0
        let weekend = parts.weekday == 1 || parts.weekday == 7 ? 0.6 : 1.0
        return (6 + 70 * (day + evening) * weekend) * season
    }
}

/// SplitMix64: a small generator, so a seed gives the same trace on every machine.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * Double(next() >> 11) / Double(1 << 53)
    }
}
