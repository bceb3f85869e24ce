import WedSyncModels
import WedSyncServiceKit

/// Every field rule of the API's requests, each said once for the validation and for the OpenAPI document.
enum APIFields {
    static let personName = TextRule.name(200)
    static let optionalName = TextRule(0...200)
    static let phone = TextRule(0...40)
    static let notes = TextRule.freeText(5_000)
    static let dietaryRequirements = TextRule.freeText(500)
    static let search = TextRule(3...100)
    static let website = TextRule(0...300)
    static let role = TextRule(0...100)
    static let years = 1900...2199
    static let guestEstimate = 0...10_000
    static let tableNumber = 1...500
    /// A run-sheet entry: its title, and how long it lasts (a day at most).
    static let eventTitle = TextRule.name(200)
    static let eventMinutes = 1...1440
    /// A time of day, `HH:MM` (24-hour).
    static let clockSchema = JSONSchema.constrained(.string(), ["pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"])
    /// Ids: positive, and at most 2^53 - 1, which every JSON client holds exactly.
    static let ids = 1...Int.maximumJSONSafe

    /// A calendar day from 1900 to 2199, `YYYY-MM-DD`.
    static let daySchema = JSONSchema.constrained(
        .string(format: "date"),
        ["pattern": "^(19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}$"]
    )
    static let idSchema = JSONSchema.integer(in: ids)

    /// `day` if its year is one the API takes, else a 400 naming `field`.
    static func check(_ day: CalendarDay, _ field: String, code: String = "invalid_body") throws(ServiceError)
        -> CalendarDay
    {
        guard years.contains(day.year) else {
            throw ServiceError.badRequest("\(field): expected a date as YYYY-MM-DD from 1900 to 2199", code: code)
        }
        return day
    }

    /// `value` if it is within `range`, else a 400 naming `field`.
    static func check(_ value: Int, in range: ClosedRange<Int>, _ field: String, code: String = "invalid_body")
        throws(ServiceError) -> Int
    {
        guard range.contains(value) else {
            throw ServiceError.badRequest("\(field): expected \(range.lowerBound) to \(range.upperBound)", code: code)
        }
        return value
    }
}
