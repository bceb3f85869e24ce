import Foundation
import Hummingbird
import WedSyncModels
import WedSyncPostgres
import WedSyncServiceKit

/// `GET /api/journey-instances?client_id=`, `GET /api/supplier-schedules?date=`, `GET /api/dashboard`,
/// `GET /api/auth/introspect`.
struct PlanningRoutes {
    let environment: APIEnvironment

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
                let journeys = try await journeys(clientID: clientID, principal: principal)
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
                let schedules = try await schedules(date: date, supplier: supplier, principal: principal)
                let organization = principal.organizationId
                let tags =
                    ["org:\(organization)", "org:\(organization):schedules:\(date)"]
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
                let counts = try await dashboard(principal: principal)
                return CachePolicy.dashboard.respond(
                    counts,
                    tags: [
                        "org:\(principal.organizationId)", "org:\(principal.organizationId):dashboard", "dashboard",
                    ],
                    request: request
                )
            }
        }

        routes.add(
            .get,
            "/api/auth/introspect",
            RouteSpec(
                summary: "The supplier and organization of the caller's bearer token",
                description: "401 when the token is unknown or revoked. Never cached by a shared cache.",
                tags: ["auth"],
                access: .tenant,
                response: .of(TokenIntrospection.self)
            )
        ) { request, context in
            try await environment.handle(request, context, route: "/api/auth/introspect") { principal in
                var response = Response.json(
                    TokenIntrospection(
                        active: true,
                        supplierId: principal.supplierId,
                        organizationId: principal.organizationId,
                        role: principal.role
                    )
                )
                response.headers[.cacheControl] = "no-store"
                return response
            }
        }
    }

    private func journeys(clientID: Int, principal: Principal) async throws -> [JourneyInstance] {
        let rows = try await environment.database.read(
            """
            SELECT c.id, j.id, j.journey_name, j.current_stage, j.stage_index, j.stage_count, j.status, j.started_at, j.updated_at
            FROM clients c LEFT JOIN journey_instances j ON j.client_id = c.id
            WHERE c.id = \(clientID) AND c.organization_id = \(principal.organizationId) AND c.deleted_at IS NULL
            ORDER BY j.started_at, j.id
            """
        )
        guard !rows.isEmpty else { throw ServiceError.notFound("no client \(clientID)") }
        return try rows.compactMap { row in
            guard let id = try row.decode(Int?.self, at: 1) else { return nil }
            return JourneyInstance(
                id: id,
                clientId: clientID,
                journeyName: try row.decode(String.self, at: 2),
                currentStage: try row.decode(String.self, at: 3),
                stageIndex: try row.decode(Int.self, at: 4),
                stageCount: try row.decode(Int.self, at: 5),
                status: try row.decode(String.self, at: 6),
                startedAt: try row.decode(Date.self, at: 7),
                updatedAt: try row.decode(Date.self, at: 8)
            )
        }
    }

    /// `HH:MM:SS` → `HH:MM`.
    private static func clock(_ time: String) -> String { String(time.prefix(5)) }

    private func schedules(date: CalendarDay, supplier: Int?, principal: Principal) async throws -> [SupplierSchedule] {
        let rows = try await environment.database.read(
            """
            SELECT s.id, s.supplier_id, sp.name, s.client_id,
                   c.partner1_first_name || coalesce(' & ' || c.partner2_first_name, ''), c.venue_name,
                   s.schedule_date, s.role, s.arrive_at::text, s.depart_at::text
            FROM supplier_schedules s
            JOIN suppliers sp ON sp.id = s.supplier_id
            JOIN clients c ON c.id = s.client_id
            WHERE s.organization_id = \(principal.organizationId) AND s.schedule_date = \(date)
              AND (\(supplier)::bigint IS NULL OR s.supplier_id = \(supplier))
            ORDER BY s.arrive_at, s.id
            """
        )
        let ids = try rows.map { try $0.decode(Int.self, at: 0) }
        var timelines: [Int: [TimelineEvent]] = [:]
        if !ids.isEmpty {
            let events = try await environment.database.read(
                """
                SELECT schedule_id, id, starts_at::text, minutes, title, location
                FROM timeline_events WHERE schedule_id = ANY(\(ids)::bigint[])
                ORDER BY schedule_id, starts_at, id
                """
            )
            for row in events {
                let event = TimelineEvent(
                    id: try row.decode(Int.self, at: 1),
                    startsAt: Self.clock(try row.decode(String.self, at: 2)),
                    minutes: try row.decode(Int.self, at: 3),
                    title: try row.decode(String.self, at: 4),
                    location: try row.decode(String?.self, at: 5)
                )
                timelines[try row.decode(Int.self, at: 0), default: []].append(event)
            }
        }
        return try rows.map { row in
            let id = try row.decode(Int.self, at: 0)
            return SupplierSchedule(
                id: id,
                supplierId: try row.decode(Int.self, at: 1),
                supplierName: try row.decode(String.self, at: 2),
                clientId: try row.decode(Int.self, at: 3),
                coupleName: try row.decode(String.self, at: 4),
                venueName: try row.decode(String?.self, at: 5),
                date: try row.decode(CalendarDay.self, at: 6),
                role: try row.decode(String.self, at: 7),
                arriveAt: Self.clock(try row.decode(String.self, at: 8)),
                departAt: Self.clock(try row.decode(String.self, at: 9)),
                timeline: timelines[id] ?? []
            )
        }
    }

    private func dashboard(principal: Principal) async throws -> DashboardCounts {
        let rows = try await environment.database.read(
            """
            SELECT clients, active_clients, upcoming_weddings_30_days, upcoming_weddings_365_days, inquiries, booked,
                   guests, rsvp_attending, rsvp_declined, rsvp_pending, active_journeys, refreshed_at
            FROM dashboard_counts WHERE organization_id = \(principal.organizationId)
            """
        )
        guard let row = rows.first else {
            // An organization created after the last refresh: nothing to count yet.
            return DashboardCounts(
                organizationId: principal.organizationId,
                clients: 0,
                activeClients: 0,
                upcomingWeddings30Days: 0,
                upcomingWeddings365Days: 0,
                inquiries: 0,
                booked: 0,
                guests: 0,
                rsvpAttending: 0,
                rsvpDeclined: 0,
                rsvpPending: 0,
                activeJourneys: 0,
                refreshedAt: Date()
            )
        }
        return DashboardCounts(
            organizationId: principal.organizationId,
            clients: try row.decode(Int.self, at: 0),
            activeClients: try row.decode(Int.self, at: 1),
            upcomingWeddings30Days: try row.decode(Int.self, at: 2),
            upcomingWeddings365Days: try row.decode(Int.self, at: 3),
            inquiries: try row.decode(Int.self, at: 4),
            booked: try row.decode(Int.self, at: 5),
            guests: try row.decode(Int.self, at: 6),
            rsvpAttending: try row.decode(Int.self, at: 7),
            rsvpDeclined: try row.decode(Int.self, at: 8),
            rsvpPending: try row.decode(Int.self, at: 9),
            activeJourneys: try row.decode(Int.self, at: 10),
            refreshedAt: try row.decode(Date.self, at: 11)
        )
    }
}
