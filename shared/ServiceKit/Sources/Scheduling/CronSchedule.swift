import Foundation

/// A classic five-field cron expression (`minute hour day-of-month month day-of-week`), as crontab(5) reads it:
/// `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, and names (`mon`, `jan`). Day 0 and 7 are
/// Sunday. When both day fields are restricted, a day matching either one fires (Vixie cron).
///
/// ```swift
/// let friday = try CronSchedule("0 18 * * fri")       // every Friday at 18:00
/// let next = friday.next(after: .now, in: TimeZone(identifier: "Europe/London")!)
/// ```
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    public let expression: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let daysOfWeek: Set<Int>
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public init(_ expression: String) throws(ParseError) {
        let fields = expression.split(whereSeparator: \.isWhitespace).map { String($0).lowercased() }
        guard fields.count == 5 else {
            throw ParseError(description: "a cron expression has 5 fields: minute hour day month weekday")
        }
        self.expression = fields.joined(separator: " ")
        minutes = try Self.field(fields[0], 0...59, names: [:], name: "minute")
        hours = try Self.field(fields[1], 0...23, names: [:], name: "hour")
        daysOfMonth = try Self.field(fields[2], 1...31, names: [:], name: "day of month")
        let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        months = try Self.field(
            fields[3],
            1...12,
            names: Dictionary(uniqueKeysWithValues: monthNames.enumerated().map { ($1, $0 + 1) }),
            name: "month"
        )
        let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        let weekdays = try Self.field(
            fields[4],
            0...7,
            names: Dictionary(uniqueKeysWithValues: dayNames.enumerated().map { ($1, $0) }),
            name: "day of week"
        )
        daysOfWeek = Set(weekdays.map { $0 % 7 })
        dayOfMonthRestricted = !fields[2].hasPrefix("*")
        dayOfWeekRestricted = !fields[4].hasPrefix("*")
    }

    public var description: String { expression }

    /// The first minute strictly after `date` the schedule fires, in `timeZone`; `nil` if none within 5 years
    /// (`0 0 30 2 *`).
    public func next(after date: Date, in timeZone: TimeZone = .gmt) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var day = calendar.startOfDay(for: date)
        for _ in 0..<(366 * 5) {
            if let first = fires(on: day, calendar).first(where: { $0 > date }) { return first }
            guard let following = calendar.date(byAdding: .day, value: 1, to: day) else { return nil }
            day = following
        }
        return nil
    }

    /// Every time the schedule fires in `[from, to]`, in `timeZone`, ascending.
    public func fireTimes(from: Date, to: Date, in timeZone: TimeZone = .gmt) -> [Date] {
        guard from <= to else { return [] }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var day = calendar.startOfDay(for: from)
        var result: [Date] = []
        while day <= to {
            result += fires(on: day, calendar).filter { $0 >= from && $0 <= to }
            guard let following = calendar.date(byAdding: .day, value: 1, to: day) else { break }
            day = following
        }
        return result
    }

    /// The times it fires on the local day starting at `day`, ascending. A wall time that a daylight-saving jump
    /// skips fires once the clock has moved past the gap (as Vixie cron runs it); a wall time that happens twice
    /// fires once.
    private func fires(on day: Date, _ calendar: Calendar) -> [Date] {
        let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
        guard let month = parts.month, let dayOfMonth = parts.day, let weekday = parts.weekday, months.contains(month),
            matchesDay(dayOfMonth: dayOfMonth, dayOfWeek: weekday - 1)
        else { return [] }
        var instants = Set<Date>()
        for hour in hours {
            for minute in minutes {
                let wall = DateComponents(year: parts.year, month: month, day: dayOfMonth, hour: hour, minute: minute)
                if let instant = calendar.date(from: wall) { instants.insert(instant) }
            }
        }
        return instants.sorted()
    }

    private func matchesDay(dayOfMonth: Int, dayOfWeek: Int) -> Bool {
        switch (dayOfMonthRestricted, dayOfWeekRestricted) {
        case (true, true): daysOfMonth.contains(dayOfMonth) || daysOfWeek.contains(dayOfWeek)
        case (true, false): daysOfMonth.contains(dayOfMonth)
        case (false, true): daysOfWeek.contains(dayOfWeek)
        case (false, false): true
        }
    }

    private static func field(_ text: String, _ range: ClosedRange<Int>, names: [String: Int], name: String)
        throws(ParseError) -> Set<Int>
    {
        var values = Set<Int>()
        func value(_ token: Substring) throws(ParseError) -> Int {
            if let number = Int(token), range.contains(number) { return number }
            if let named = names[String(token)] { return named }
            throw ParseError(description: "\(name): '\(token)' is not in \(range.lowerBound)-\(range.upperBound)")
        }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2, let base = pieces.first, !base.isEmpty else {
                throw ParseError(description: "\(name): '\(part)' is not a value, range or step")
            }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else {
                    throw ParseError(description: "\(name): a step must be a positive number")
                }
                step = parsed
            }
            var bounds: ClosedRange<Int>
            if base == "*" {
                bounds = range
            } else if let dash = base.firstIndex(of: "-") {
                let low = try value(base[..<dash])
                let high = try value(base[base.index(after: dash)...])
                guard low <= high else { throw ParseError(description: "\(name): the range '\(base)' runs backwards") }
                bounds = low...high
            } else {
                let single = try value(base)
                bounds = single...(pieces.count == 2 ? range.upperBound : single)
            }
            values.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
        }
        return values
    }
}
