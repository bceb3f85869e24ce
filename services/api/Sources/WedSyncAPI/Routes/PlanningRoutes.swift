import Foundation
import Hummingbird
import WedSyncModels
import WedSyncServiceKit

/// `GET /api/journey-instances?client_id=`, `GET /api/supplier-schedules?date=`, `GET /api/dashboard`: parameters,
/// status codes and cache headers; the statements are ``JourneyInstanceStore``'s, ``SupplierScheduleStore``'s and
/// ``DashboardStore``'s.
struct PlanningRoutes {
    let environment: APIEnvironment
    let journeyStore: JourneyInstanceStore
    let scheduleStore: SupplierScheduleStore
    let dashboardStore: DashboardStore

    init(environment: APIEnvironment) {
        self.environment = environment
        self.journeyStore = JourneyInstanceStore(database: environment.database)
        self.scheduleStore = SupplierScheduleStore(database: environment.database)
        self.dashboardStore = DashboardStore(database: environment.database)
    }

    func register(_ routes: ServiceRoutes) {
        routes.add(
            .get,
            "/api/journey-instances",
            RouteSpec(
                summary: "A client's journeys through the supplier's workflows",
                tags: ["planning"],
                access: .tenant,
                queryParameters: [
                    QueryParameter("client_id", schema: APIFields.idSchema, required: true, description: "The client.")
                ],
                response: .of(JourneyInstancesResponse.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/journey-instances") { principal in
                let clientID = try Parameters.requiredID(request, "client_id")
                guard
                    let journeys = try await journeyStore.journeys(
                        client: clientID,
                        organization: principal.organizationId
                    )
                else {
                    throw ServiceError.notFound("no client \(clientID)")
                }
                return CachePolicy.standard.respond(
                    JourneyInstancesResponse(clientId: clientID, journeyInstances: journeys),
                    tags: ["org:\(principal.organizationId)", "client:\(clientID)"],
                    request: request
                )
            }
        }

        routes.add(
            .get,
            "/api/supplier-schedules",
            RouteSpec(
                summary: "The organization's schedules of a day, each with its run sheet",
                tags: ["planning"],
                access: .tenant,
                queryParameters: [
                    QueryParameter("date", schema: APIFields.daySchema, required: true, description: "The day."),
                    QueryParameter("supplier_id", schema: APIFields.idSchema, description: "Only this supplier's."),
                ],
                response: .of(SupplierSchedulesResponse.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/supplier-schedules") { principal in
                guard let date = try Parameters.day(request, "date") else {
                    throw ServiceError.badRequest("date: required (YYYY-MM-DD)", code: "invalid_parameter")
                }
                let supplier = try request.integerQuery("supplier_id", in: APIFields.ids)
                let organization = principal.organizationId
                let schedules = try await scheduleStore.schedules(
                    on: date,
                    supplier: supplier,
                    organization: organization
                )
                let tags =
                    ["org:\(organization)", WeddingDayStore.dayTag(organization: organization, date: date)]
                    + Set(schedules.map(\.clientId)).sorted().map { "client:\($0)" }
                return CachePolicy.standard.respond(
                    SupplierSchedulesResponse(date: date, schedules: schedules),
                    tags: tags,
                    request: request
                )
            }
        }

        routes.add(
            .get,
            "/api/dashboard",
            RouteSpec(
                summary: "The organization's counts: clients, upcoming weddings, guests and RSVPs",
                description: "From a materialized view refreshed in the background; `refreshedAt` says when.",
                tags: ["planning"],
                access: .tenant,
                response: .of(DashboardCounts.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/dashboard") { principal in
                let counts = try await dashboardStore.counts(organization: principal.organizationId)
                return CachePolicy.dashboard.respond(
                    counts,
                    tags: [
                        "org:\(principal.organizationId)", "org:\(principal.organizationId):dashboard", "dashboard",
                    ],
                    request: request
                )
            }
        }
    }
}
