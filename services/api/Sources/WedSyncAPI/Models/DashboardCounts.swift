import Foundation
import WedSyncModels

/// The dashboard's counts (`GET /api/dashboard`), from a materialized view refreshed in the background.
public struct DashboardCounts: Codable, Sendable, Equatable {
    public var organizationId: Int
    public var clients: Int
    public var activeClients: Int
    public var upcomingWeddings30Days: Int
    public var upcomingWeddings365Days: Int
    public var inquiries: Int
    public var booked: Int
    public var guests: Int
    public var rsvpAttending: Int
    public var rsvpDeclined: Int
    public var rsvpPending: Int
    public var activeJourneys: Int
    /// When the counts were computed.
    public var refreshedAt: Date

    public init(
        organizationId: Int,
        clients: Int,
        activeClients: Int,
        upcomingWeddings30Days: Int,
        upcomingWeddings365Days: Int,
        inquiries: Int,
        booked: Int,
        guests: Int,
        rsvpAttending: Int,
        rsvpDeclined: Int,
        rsvpPending: Int,
        activeJourneys: Int,
        refreshedAt: Date
    ) {
        self.organizationId = organizationId
        self.clients = clients
        self.activeClients = activeClients
        self.upcomingWeddings30Days = upcomingWeddings30Days
        self.upcomingWeddings365Days = upcomingWeddings365Days
        self.inquiries = inquiries
        self.booked = booked
        self.guests = guests
        self.rsvpAttending = rsvpAttending
        self.rsvpDeclined = rsvpDeclined
        self.rsvpPending = rsvpPending
        self.activeJourneys = activeJourneys
        self.refreshedAt = refreshedAt
    }
}

extension DashboardCounts: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        let counts = [
            "clients", "activeClients", "upcomingWeddings30Days", "upcomingWeddings365Days", "inquiries", "booked",
            "guests", "rsvpAttending", "rsvpDeclined", "rsvpPending", "activeJourneys",
        ]
        var properties = Dictionary(uniqueKeysWithValues: counts.map { ($0, JSONSchema.integer(minimum: 0)) })
        properties["organizationId"] = .id
        properties["refreshedAt"] = .dateTime
        return .object(properties, required: counts + ["organizationId", "refreshedAt"])
    }
}
