import Foundation
import WedSyncModels

/// A client's progress through one of the supplier's workflows.
public struct JourneyInstance: Codable, Sendable, Equatable {
    public var id: Int
    public var clientId: Int
    public var journeyName: String
    public var currentStage: String
    public var stageIndex: Int
    public var stageCount: Int
    /// `active`, `paused` or `completed`.
    public var status: String
    public var startedAt: Date
    public var updatedAt: Date

    public init(
        id: Int,
        clientId: Int,
        journeyName: String,
        currentStage: String,
        stageIndex: Int,
        stageCount: Int,
        status: String,
        startedAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.clientId = clientId
        self.journeyName = journeyName
        self.currentStage = currentStage
        self.stageIndex = stageIndex
        self.stageCount = stageCount
        self.status = status
        self.startedAt = startedAt
        self.updatedAt = updatedAt
    }
}

/// The journeys of one client (`GET /api/journey-instances?client_id=`).
public struct JourneyInstancesResponse: Codable, Sendable, Equatable {
    public var clientId: Int
    public var journeyInstances: [JourneyInstance]

    public init(clientId: Int, journeyInstances: [JourneyInstance]) {
        self.clientId = clientId
        self.journeyInstances = journeyInstances
    }
}

/// One entry of a wedding-day run sheet.
public struct TimelineEvent: Codable, Sendable, Equatable {
    public var id: Int
    /// `HH:MM`.
    public var startsAt: String
    public var minutes: Int
    public var title: String
    public var location: String?

    public init(id: Int, startsAt: String, minutes: Int, title: String, location: String?) {
        self.id = id
        self.startsAt = startsAt
        self.minutes = minutes
        self.title = title
        self.location = location
    }
}

/// Who of the organization works which wedding on a day, with the run sheet.
public struct SupplierSchedule: Codable, Sendable, Equatable {
    public var id: Int
    public var supplierId: Int
    public var supplierName: String
    public var clientId: Int
    public var coupleName: String
    public var venueName: String?
    public var date: CalendarDay
    public var role: String
    /// `HH:MM`.
    public var arriveAt: String
    public var departAt: String
    public var timeline: [TimelineEvent]

    public init(
        id: Int,
        supplierId: Int,
        supplierName: String,
        clientId: Int,
        coupleName: String,
        venueName: String?,
        date: CalendarDay,
        role: String,
        arriveAt: String,
        departAt: String,
        timeline: [TimelineEvent]
    ) {
        self.id = id
        self.supplierId = supplierId
        self.supplierName = supplierName
        self.clientId = clientId
        self.coupleName = coupleName
        self.venueName = venueName
        self.date = date
        self.role = role
        self.arriveAt = arriveAt
        self.departAt = departAt
        self.timeline = timeline
    }
}

/// The organization's schedules of one day (`GET /api/supplier-schedules?date=`).
public struct SupplierSchedulesResponse: Codable, Sendable, Equatable {
    public var date: CalendarDay
    public var schedules: [SupplierSchedule]

    public init(date: CalendarDay, schedules: [SupplierSchedule]) {
        self.date = date
        self.schedules = schedules
    }
}

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
