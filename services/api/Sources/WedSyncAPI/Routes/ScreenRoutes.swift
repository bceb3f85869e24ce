import Foundation
import HTTPTypes
import Hummingbird
import WedSyncModels
import WedSyncServiceKit

/// The wedding-day screen in one round trip, `GET /api/screens/wedding-day?date=`, and its parts on their own,
/// `GET /api/guest-summary?date=` and `GET /api/timeline?date=` (the schedules are `/api/supplier-schedules`): each
/// cached like every tenant read, the screen tagged with the union of its parts' tags, so a change to any part
/// purges it (``WeddingDayStore``). `PATCH /api/timeline-events/{id}` changes one entry of the run sheet.
struct ScreenRoutes {
    let environment: APIEnvironment
    let store: WeddingDayStore
    let events: TimelineEventStore

    init(environment: APIEnvironment) {
        self.environment = environment
        self.store = WeddingDayStore(database: environment.database)
        self.events = TimelineEventStore(database: environment.database)
    }

    static let dayParameters = [
        QueryParameter("date", schema: APIFields.daySchema, required: true, description: "The day."),
        QueryParameter("supplier_id", schema: APIFields.idSchema, description: "Only this supplier's weddings."),
    ]

    func register(_ routes: ServiceRoutes) {
        registerEventChange(routes)
        let store = self.store
        routes.add(
            .get,
            "/api/screens/wedding-day",
            RouteSpec(
                summary:
                    "The wedding-day screen: the day's schedules, its run sheet and each wedding's guest numbers, in one response",
                description:
                    "What `/api/supplier-schedules`, `/api/timeline` and `/api/guest-summary` give for the day, together: one round "
                    + "trip on a phone's slow link. Tagged with the union of their tags, so a change to any part purges it. "
                    + "With `Save-Data: on` (the client hint of a phone saving data), the compact form (`compact: true`): "
                    + "without each entry's `location` and each wedding's `dietary` breakdown; it varies by `Save-Data`.",
                tags: ["planning"],
                access: .tenant,
                queryParameters: Self.dayParameters,
                response: .of(WeddingDayScreen.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/screens/wedding-day") { principal in
                let (date, supplier) = try Self.day(request)
                let organization = principal.organizationId
                let screen = try await store.screen(on: date, supplier: supplier, organization: organization)
                return CachePolicy.standard.respond(
                    Self.savesData(request) ? screen.compacted() : screen,
                    tags: WeddingDayStore.tags(
                        organization: organization,
                        date: date,
                        clients: screen.schedules.map(\.clientId)
                    ),
                    request: request,
                    vary: [Self.saveData.rawName]
                )
            }
        }

        routes.add(
            .get,
            "/api/guest-summary",
            RouteSpec(
                summary:
                    "Each of the day's weddings' guests in numbers: RSVPs, plus-ones, dietary requirements, seating",
                tags: ["planning"],
                access: .tenant,
                queryParameters: Self.dayParameters,
                response: .of(GuestSummaryResponse.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/guest-summary") { principal in
                let (date, supplier) = try Self.day(request)
                let organization = principal.organizationId
                let day = try await store.schedules.schedules(on: date, supplier: supplier, organization: organization)
                let clients = WeddingDayStore.clients(of: day)
                return CachePolicy.standard.respond(
                    GuestSummaryResponse(
                        date: date,
                        weddings: try await store.guests(of: clients, organization: organization)
                    ),
                    tags: WeddingDayStore.tags(organization: organization, date: date, clients: clients),
                    request: request
                )
            }
        }

        routes.add(
            .get,
            "/api/timeline",
            RouteSpec(
                summary: "The day's run sheet across the organization's schedules, in time order",
                tags: ["planning"],
                access: .tenant,
                queryParameters: Self.dayParameters,
                response: .of(DayTimelineResponse.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/timeline") { principal in
                let (date, supplier) = try Self.day(request)
                let organization = principal.organizationId
                let day = try await store.schedules.schedules(on: date, supplier: supplier, organization: organization)
                return CachePolicy.standard.respond(
                    DayTimelineResponse(date: date, events: WeddingDayStore.timeline(of: day)),
                    tags: WeddingDayStore.tags(
                        organization: organization,
                        date: date,
                        clients: WeddingDayStore.clients(of: day)
                    ),
                    request: request
                )
            }
        }
    }

    /// `PATCH /api/timeline-events/{id}`: the entry as changed; a 404 for an entry that is not the caller's.
    private func registerEventChange(_ routes: ServiceRoutes) {
        let events = self.events
        routes.add(
            .patch,
            "/api/timeline-events/{id}",
            RouteSpec(
                summary: "Change one entry of a run sheet: its time, length, title or place",
                tags: ["planning"],
                access: .tenant,
                pathParameters: ["id": APIFields.idSchema],
                requestBody: .of(TimelineEventPatch.self),
                response: .of(TimelineEvent.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/timeline-events/{id}") { principal in
                let id = try Parameters.id(context)
                let patch = try Self.validated(try await request.decodeJSON(TimelineEventPatch.self, context: context))
                let organization = principal.organizationId
                guard
                    let event = try await events.update(
                        id: id,
                        with: patch,
                        by: principal,
                        requestID: context.requestID,
                        invalidating: { date in [WeddingDayStore.dayTag(organization: organization, date: date)] }
                    )
                else { throw ServiceError.notFound("no timeline event \(id)") }
                if patch != TimelineEventPatch() { environment.committed() }
                var response = Response.json(event)
                response.headers[.cacheControl] = "no-store"
                return response
            }
        }
    }

    /// `patch` with every field it names checked (a 400 naming the first that is not valid), its text as stored.
    static func validated(_ patch: TimelineEventPatch) throws -> TimelineEventPatch {
        var checked = patch
        if let startsAt = patch.startsAt {
            let parts = startsAt.split(separator: ":", omittingEmptySubsequences: false)
            guard startsAt.utf8.count == 5, parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]),
                (0...23).contains(hour), (0...59).contains(minute),
                parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } })
            else {
                throw ServiceError.badRequest("startsAt: expected HH:MM (24-hour)", code: "invalid_body")
            }
        }
        if let minutes = patch.minutes {
            checked.minutes = try APIFields.check(minutes, in: APIFields.eventMinutes, "minutes")
        }
        checked.title = try Parameters.text(patch.title, "title", APIFields.eventTitle)
        checked.location = try Parameters.text(patch.location, "location", APIFields.optionalName)
        return checked
    }

    /// The client hint of a phone that saves data (`Save-Data: on`).
    static let saveData = HTTPField.Name("Save-Data")!

    /// Whether the request asks for the compact form: `Save-Data: on`, in any case, with any parameters after it.
    static func savesData(_ request: Request) -> Bool {
        request.headers[values: saveData].contains { value in
            value.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() == "on"
        }
    }

    /// `date` (required) and `supplier_id`.
    static func day(_ request: Request) throws -> (CalendarDay, Int?) {
        guard let date = try Parameters.day(request, "date") else {
            throw ServiceError.badRequest("date: required (YYYY-MM-DD)", code: "invalid_parameter")
        }
        return (date, try request.integerQuery("supplier_id", in: APIFields.ids))
    }
}
