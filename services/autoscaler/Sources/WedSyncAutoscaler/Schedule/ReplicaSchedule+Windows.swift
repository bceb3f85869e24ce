import Foundation
import WedSyncModels
import WedSyncServiceKit

extension ReplicaSchedule {
    /// The windows in which the floor holds, within `[from, to]`, merged and ascending: from each start not on an
    /// excluded date to the first end after it.
    public func windows(from: Date, to: Date, lookback: TimeInterval = 32 * 86_400) -> [DateInterval] {
        guard from <= to else { return [] }
        let starts = start.fireTimes(from: from.addingTimeInterval(-lookback), to: to, in: timeZone)
        let ends = end.fireTimes(
            from: from.addingTimeInterval(-lookback),
            to: to.addingTimeInterval(lookback),
            in: timeZone
        )
        var windows: [DateInterval] = []
        var endIndex = 0
        for opened in starts where !excludedDates.contains(CalendarDay(opened, in: timeZone)) {
            while endIndex < ends.count, ends[endIndex] < opened { endIndex += 1 }
            // An end at the same instant as the start closes it at once.
            let closed = endIndex < ends.count ? ends[endIndex] : to
            let window = DateInterval(start: max(opened, from), end: max(min(closed, to), max(opened, from)))
            guard closed > opened, closed > from else { continue }
            if let last = windows.last, last.end >= window.start {
                windows[windows.count - 1] = DateInterval(start: last.start, end: max(last.end, window.end))
            } else {
                windows.append(window)
            }
        }
        return windows
    }

    /// Whether the floor holds at `instant` (a window is closed at its end).
    public func isActive(at instant: Date) -> Bool {
        windows(from: instant, to: instant.addingTimeInterval(1)).contains { $0.start <= instant && instant < $0.end }
    }
}
