import Foundation
import Hummingbird
import WedSyncModels
import WedSyncServiceKit

/// `GET /v1/warming/targets?date=`: what a warming service fetches through the gateway before a wedding day
/// (``WarmingTargets``), for the services of `api.warming-services` and the admin. The pages themselves are then
/// read on each organization's behalf (``WarmingCallers``).
struct WarmingRoutes {
    let store: WarmingStore
    let services: [String]

    init(environment: APIEnvironment) {
        self.store = WarmingStore(database: environment.database)
        self.services = environment.warming?.names ?? []
    }

    func register(_ routes: ServiceRoutes) {
        let store = self.store
        routes.add(
            .get,
            APIPath.API.warmingTargets,
            RouteSpec(
                summary:
                    "The pages to warm for a day: each organization with a booked wedding, its time zone, its pages",
                description:
                    "The day's schedules, the dashboard and the guest lists of the day's couples, per organization. "
                    + "Ids and paths only.",
                tags: ["warming"],
                access: .service(services),
                queryParameters: [
                    QueryParameter("date", schema: APIFields.daySchema, required: true, description: "The day.")
                ],
                response: .of(WarmingTargets.self)
            )
        ) { request, _ in
            guard let date = try Parameters.day(request, "date") else {
                throw ServiceError.badRequest("date: required (YYYY-MM-DD)", code: "invalid_parameter")
            }
            var response = Response.json(try await store.targets(on: date))
            response.headers[.cacheControl] = "no-store"
            return response
        }
    }
}
