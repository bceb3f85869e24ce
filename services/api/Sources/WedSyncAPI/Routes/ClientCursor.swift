import WedSyncModels

/// The position after the last client of a page: its wedding date and id, as `DAYS.ID`.
struct ClientCursor: CustomStringConvertible {
    var weddingDate: CalendarDay
    var id: Int

    init(weddingDate: CalendarDay, id: Int) {
        self.weddingDate = weddingDate
        self.id = id
    }

    /// `DAYS.ID`: the wedding date as days since 1970-01-01 (negative before it: the API takes years from 1900) and the
    /// last client's id (up to 2^53 - 1: 16 digits), both as the page ended.
    static let schema = JSONSchema.text(3...23, pattern: #"^-?[0-9]{1,5}\.[1-9][0-9]{0,15}$"#)

    init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let day = parts[0].hasPrefix("-") ? parts[0].dropFirst() : parts[0]
        guard (1...5).contains(day.count), (1...16).contains(parts[1].count), !parts[1].hasPrefix("0"),
            [day, parts[1]].allSatisfy({ $0.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }),
            let days = Int(parts[0]), let id = Int(parts[1])
        else { return nil }
        self.init(weddingDate: CalendarDay(daysSinceEpoch: days), id: id)
    }

    var description: String {
        "\(weddingDate.daysSinceEpoch).\(id)"
    }
}
