import Foundation
import Hummingbird
import WedSyncModels
import WedSyncServiceKit

/// `GET /v1/calendar/weddings`: the weddings booked per hour across every organization, for the autoscaler's
/// calendar floor (its own service token). Counts only; the statement is ``CalendarStore``'s.
struct CalendarRoutes {
    /// The most days one request reads: a season's quarter.
    static let maximumDays = 92
    let store: CalendarStore

    init(environment: APIEnvironment) {
        self.store = CalendarStore(database: environment.database)
    }

    func register(_ routes: ServiceRoutes) {
        let store = self.store
        routes.add(
            .get,
            APIPath.API.weddingCalendar,
            RouteSpec(
                summary: "Weddings booked per hour of their ceremony, across every organization (counts only)",
                description:
                    "Booked and completed weddings, each at the earliest Ceremony on its suppliers' run sheets "
                    + "(13:00 local without one), in its organization's time zone. `from` to `to` are UTC days, "
                    + "at most \(Self.maximumDays) of them.",
                tags: ["calendar"],
                access: .service("wedsync-autoscaler"),
                queryParameters: [
                    QueryParameter("from", schema: APIFields.daySchema, required: true, description: "The first day."),
                    QueryParameter(
                        "to",
                        schema: APIFields.daySchema,
                        required: true,
                        description: "The last day, inclusive."
                    ),
                ],
                response: .of(WeddingCalendar.self)
            )
        ) { request, _ in
            let (from, to) = try Self.days(request)
            var response = Response.json(
                WeddingCalendar(from: from, to: to, hours: try await store.weddings(from: from, to: to))
            )
            response.headers[.cacheControl] = "no-store"
            return response
        }
    }

    /// `from` and `to`, both required, in order, at most ``maximumDays`` apart.
    static func days(_ request: Request) throws -> (CalendarDay, CalendarDay) {
        guard let from = try Parameters.day(request, "from") else {
            throw ServiceError.badRequest("from: required", code: "invalid_parameter")
        }
        guard let to = try Parameters.day(request, "to") else {
            throw ServiceError.badRequest("to: required", code: "invalid_parameter")
        }
        guard from <= to else {
            throw ServiceError.badRequest("to: expected a day on or after from (\(from))", code: "invalid_parameter")
        }
        guard to.daysSinceEpoch - from.daysSinceEpoch < maximumDays else {
            throw ServiceError.badRequest("to: at most \(maximumDays) days from from", code: "invalid_parameter")
        }
        return (from, to)
    }
}
