import Foundation
import WedSyncModels

/// The skeleton of a data set, decided up front so every table agrees with the others: which organization each
/// client belongs to, its wedding date and status, whether it has a guest list and how large. Each table's rows
/// are then generated from per-row generators (``SeedRandom/init(seed:stream:id:)``), so the data is the same run
/// after run.
struct SeedPlan: Sendable {
    struct Organization: Sendable {
        var firstClient: Int
        var clientCount: Int
        var firstSupplier: Int
        var supplierCount: Int
        var firstVendor: Int
        var vendorCount: Int
    }

    struct Client: Sendable {
        var organization: Int32
        var weddingDay: Int32
        var status: Status
        /// 0 when the client has no guest list yet.
        var guestCount: Int16
        var hasBudget: Bool
        var deleted: Bool
    }

    enum Status: UInt8, Sendable {
        case inquiry, proposal, booked, completed, cancelled

        var text: StaticString {
            switch self {
            case .inquiry: "inquiry"
            case .proposal: "proposal"
            case .booked: "booked"
            case .completed: "completed"
            case .cancelled: "cancelled"
            }
        }
    }

    /// One stream per purpose, so adding a column to one table changes no other table's data.
    enum Stream: UInt64 {
        case organization = 1, supplier, client, guests, vendor, contact, journey, schedule, timeline, budget
    }

    let seed: UInt64
    let anchor: CalendarDay
    /// Index 0 is organization 1.
    private(set) var organizations: [Organization] = []
    /// Index 0 is client 1.
    private(set) var clients: [Client] = []

    /// Share of booked and completed clients whose guest list is in WedSync.
    static let guestListShare = 0.18
    /// Relative frequency of weddings by month, January first.
    static let monthWeights: [Double] = [2, 2, 4, 7, 12, 16, 16, 15, 14, 8, 2, 2]
    /// Organizations' time zones, and how often each is picked.
    static let timeZones: [StaticString] = [
        "Europe/London", "Europe/Dublin", "Europe/Paris", "Europe/Madrid", "America/New_York", "America/Los_Angeles",
        "Australia/Sydney", "Asia/Kolkata",
    ]
    static let timeZoneWeights: [Double] = [60, 5, 8, 4, 10, 5, 5, 3]
    /// Relative frequency of weddings by weekday, Sunday first.
    static let weekdayWeights: [Double] = [1.4, 0.25, 0.25, 0.3, 0.5, 1.7, 10]

    init(options: SeedOptions) {
        seed = options.seed
        anchor = options.anchor
        let organizationCount = options.organizationCount
        let clientCount = options.clientCount

        // Zipf(0.9) shares, at least 10 clients each, the remainder to the largest.
        let weights = (1...organizationCount).map { 1 / pow(Double($0), 0.9) }
        let total = weights.reduce(0, +)
        var counts = weights.map { max(10, Int(Double(clientCount) * $0 / total)) }
        counts[0] += max(0, clientCount - counts.reduce(0, +))

        var nextClient = 1
        var nextSupplier = 1
        var nextVendor = 1
        for count in counts {
            let suppliers = min(40, 1 + count / 250)
            let vendors = min(60, 5 + count / 100)
            organizations.append(
                Organization(
                    firstClient: nextClient,
                    clientCount: count,
                    firstSupplier: nextSupplier,
                    supplierCount: suppliers,
                    firstVendor: nextVendor,
                    vendorCount: vendors
                )
            )
            nextClient += count
            nextSupplier += suppliers
            nextVendor += vendors
        }

        clients.reserveCapacity(nextClient - 1)
        for (index, organization) in organizations.enumerated() {
            for id in organization.firstClient..<(organization.firstClient + organization.clientCount) {
                clients.append(Self.makeClient(id: id, organization: index + 1, seed: seed, anchor: anchor))
            }
        }
    }

    private static func makeClient(id: Int, organization: Int, seed: UInt64, anchor: CalendarDay) -> Client {
        var random = SeedRandom(seed: seed, stream: Stream.client.rawValue, id: id)
        let year = anchor.year + [-1, 0, 1][random.weighted([0.25, 0.45, 0.30])]
        let month = random.weighted(monthWeights) + 1
        let firstDay = CalendarDay(year: year, month: month, day: 1)!
        let dayWeights = (0..<CalendarDay.daysIn(year: year, month: month)).map {
            weekdayWeights[firstDay.adding(days: $0).weekday]
        }
        let wedding = firstDay.adding(days: random.weighted(dayWeights))

        let status: Status
        if wedding < anchor {
            status = random.chance(0.93) ? .completed : .cancelled
        } else {
            status = [.booked, .proposal, .inquiry, .cancelled][random.weighted([0.5, 0.15, 0.3, 0.05])]
        }
        var guests: Int16 = 0
        if status == .booked || status == .completed, random.chance(guestListShare) {
            let size = 110 * exp(0.45 * random.normal())
            guests = Int16(min(300, max(20, size.rounded())))
        }
        let budget = (status == .booked || status == .completed) && random.chance(0.6)
        return Client(
            organization: Int32(organization),
            weddingDay: Int32(wedding.daysSinceEpoch),
            status: status,
            guestCount: guests,
            hasBudget: budget,
            deleted: random.chance(0.01)
        )
    }

    private func random(_ stream: Stream, _ id: Int) -> SeedRandom {
        SeedRandom(seed: seed, stream: stream.rawValue, id: id)
    }

    private static func slug(_ text: String) -> String {
        var slug = ""
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                slug.append(character)
            } else if !slug.hasSuffix("-") {
                slug.append("-")
            }
        }
        return slug
    }

    private func organizationName(_ id: Int) -> String {
        var random = random(.organization, id)
        return "\(random.pick(SeedVocabulary.organizationAdjectives)) \(random.pick(SeedVocabulary.organizationKinds))"
    }

    // MARK: Tables

    func writeOrganizations(_ rows: inout CopyBuffer) async throws {
        for id in 1...organizations.count {
            var random = random(.organization, id)
            let name = organizationName(id)
            rows.int(id)
            rows.text(name)
            rows.text("\(Self.slug(name))-\(id)")
            rows.plain(["scale", "professional", "starter"][random.weighted([id <= 5 ? 10 : 0.5, 3, 2])])
            // The first five (the demo's) are in London; the rest mostly so, with businesses across Europe, North
            // America, Australia and India (a half-hour offset), so each warms on its own Friday evening.
            rows.plain(id <= 5 ? "Europe/London" : Self.timeZones[random.weighted(Self.timeZoneWeights)])
            try await rows.endRow()
        }
    }

    func writeSuppliers(_ rows: inout CopyBuffer) async throws {
        for (index, organization) in organizations.enumerated() {
            let domain = "\(Self.slug(organizationName(index + 1)))-\(index + 1).example"
            for offset in 0..<organization.supplierCount {
                let id = organization.firstSupplier + offset
                var random = random(.supplier, id)
                let first = random.pick(SeedVocabulary.firstNames)
                let last = random.pick(SeedVocabulary.lastNames)
                rows.int(id)
                rows.int(index + 1)
                rows.text("\(first) \(last)")
                rows.text("\(first.lowercased()).\(id)@\(domain)")
                rows.plain(offset == 0 ? "owner" : (offset < 3 ? "admin" : "member"))
                try await rows.endRow()
            }
        }
    }

    func writeClients(_ rows: inout CopyBuffer) async throws {
        for (index, client) in clients.enumerated() {
            let id = index + 1
            var random = random(.client, id &+ 1_000_000_007)
            let first1 = random.pick(SeedVocabulary.firstNames)
            let last1 = random.pick(SeedVocabulary.lastNames)
            let first2 = random.pick(SeedVocabulary.firstNames)
            let last2 = random.chance(0.6) ? random.pick(SeedVocabulary.lastNames) : last1
            rows.int(id)
            rows.int(Int(client.organization))
            rows.text(first1)
            rows.text(last1)
            rows.text(first2)
            rows.text(last2)
            rows.text("\(first1.lowercased()).\(last1.lowercased().filter(\.isLetter))\(id)@example.com")
            rows.text("+44 7700 9\(String(100_000 + id % 100_000).dropFirst())")
            rows.day(CalendarDay(daysSinceEpoch: Int(client.weddingDay)))
            rows.text(random.pick(SeedVocabulary.venues))
            rows.text(random.pick(SeedVocabulary.cities))
            rows.plain(client.status.text)
            rows.int(client.guestCount > 0 ? Int(client.guestCount) : random.int(20...300))
            if client.deleted { rows.plain("2025-01-01 00:00:00+00") } else { rows.null() }
            try await rows.endRow()
        }
    }

    /// Clients with a guest list get a main list, and a third of them an evening list too (a fifth of the guests).
    private func guestLists(of client: Client, id: Int) -> (main: Int, evening: Int) {
        guard client.guestCount > 0 else { return (0, 0) }
        var random = random(.guests, id)
        guard random.chance(0.33) else { return (Int(client.guestCount), 0) }
        let evening = Int(client.guestCount) / 5
        return (Int(client.guestCount) - evening, evening)
    }

    func writeGuestLists(_ rows: inout CopyBuffer) async throws {
        var listID = 1
        for (index, client) in clients.enumerated() {
            let (main, evening) = guestLists(of: client, id: index + 1)
            for (count, name) in [(main, "Wedding guests"), (evening, "Evening reception")] where count > 0 {
                rows.int(listID)
                rows.int(index + 1)
                rows.int(Int(client.organization))
                rows.text(name)
                try await rows.endRow()
                listID += 1
            }
        }
    }

    func writeGuests(_ rows: inout CopyBuffer) async throws {
        var listID = 1
        var guestID = 1
        let dietary = SeedVocabulary.dietary
        for (index, client) in clients.enumerated() {
            let (main, evening) = guestLists(of: client, id: index + 1)
            let past = Int(client.weddingDay) < anchor.daysSinceEpoch
            let daysAway = Int(client.weddingDay) - anchor.daysSinceEpoch
            for count in [main, evening] where count > 0 {
                var random = random(.guests, listID &* 7919)
                let tables = max(1, count / 10)
                for _ in 0..<count {
                    rows.int(guestID)
                    rows.int(listID)
                    rows.int(index + 1)
                    rows.int(Int(client.organization))
                    let first = random.pick(SeedVocabulary.firstNames)
                    let last = random.pick(SeedVocabulary.lastNames)
                    rows.text(first)
                    rows.text(last)
                    if random.chance(0.6) {
                        rows.text("\(first.lowercased()).\(guestID)@example.org")
                    } else {
                        rows.null()
                    }
                    var attending = false
                    if past || random.chance(max(0.1, 1 - Double(daysAway) / 240)) {
                        attending = random.chance(0.85)
                        rows.plain(attending ? "attending" : (random.chance(0.8) ? "declined" : "maybe"))
                    } else {
                        rows.plain("pending")
                    }
                    if random.chance(0.2) { rows.text(random.pick(dietary)) } else { rows.null() }
                    if attending, past || daysAway < 60 {
                        rows.int(random.int(1...tables))
                    } else {
                        rows.null()
                    }
                    rows.bool(random.chance(0.1))
                    try await rows.endRow()
                    guestID += 1
                }
                listID += 1
            }
        }
    }

    func writeVendors(_ rows: inout CopyBuffer) async throws {
        for (index, organization) in organizations.enumerated() {
            for id in organization.firstVendor..<(organization.firstVendor + organization.vendorCount) {
                var random = random(.vendor, id)
                let name = "\(random.pick(SeedVocabulary.lastNames)) \(random.pick(SeedVocabulary.vendorNameEndings))"
                rows.int(id)
                rows.int(index + 1)
                rows.text(name)
                rows.text(random.pick(SeedVocabulary.vendorCategories))
                rows.text("https://\(Self.slug(name))-\(id).example")
                try await rows.endRow()
            }
        }
    }

    func writeVendorContacts(_ rows: inout CopyBuffer) async throws {
        var contactID = 1
        let vendorCount = organizations.reduce(0) { $0 + $1.vendorCount }
        for vendor in 1...max(1, vendorCount) where vendorCount > 0 {
            var random = random(.contact, vendor)
            for _ in 0..<random.int(1...3) {
                let first = random.pick(SeedVocabulary.firstNames)
                rows.int(contactID)
                rows.int(vendor)
                rows.text("\(first) \(random.pick(SeedVocabulary.lastNames))")
                rows.text("\(first.lowercased()).\(contactID)@vendors.example")
                rows.text("+44 20 7946 \(String(10_000 + contactID % 10_000).dropFirst())")
                rows.text(random.pick(SeedVocabulary.contactRoles))
                try await rows.endRow()
                contactID += 1
            }
        }
    }

    func writeJourneys(_ rows: inout CopyBuffer) async throws {
        let stages = SeedVocabulary.journeyStages
        var journeyID = 1
        for (index, client) in clients.enumerated() where client.status != .cancelled {
            var random = random(.journey, index + 1)
            let daysAway = Int(client.weddingDay) - anchor.daysSinceEpoch
            let stage: Int
            switch client.status {
            case .inquiry: stage = random.int(0...1)
            case .proposal: stage = 2
            case .booked: stage = daysAway > 180 ? 3 + random.int(0...1) : (daysAway > 30 ? 5 : 6)
            case .completed, .cancelled: stage = random.chance(0.7) ? stages.count - 1 : stages.count - 2
            }
            let status: StaticString =
                stage == stages.count - 1 ? "completed" : (random.chance(0.03) ? "paused" : "active")
            rows.int(journeyID)
            rows.int(index + 1)
            rows.int(Int(client.organization))
            rows.text(random.pick(SeedVocabulary.journeyNames))
            rows.text(stages[stage])
            rows.int(stage)
            rows.int(stages.count)
            rows.plain(status)
            try await rows.endRow()
            journeyID += 1
        }
    }

    /// Booked and completed weddings from two months before the anchor to a year after it have schedules: one to
    /// three of the organization's suppliers each.
    private func schedules(of client: Client, id: Int) -> [(supplier: Int, role: String, arrive: Int)] {
        guard client.status == .booked || client.status == .completed else { return [] }
        let daysAway = Int(client.weddingDay) - anchor.daysSinceEpoch
        guard daysAway >= -60 && daysAway <= 365 else { return [] }
        let organization = organizations[Int(client.organization) - 1]
        var random = random(.schedule, id)
        let count = min(organization.supplierCount, random.int(1...3))
        let first = random.int(0...(organization.supplierCount - 1))
        let arrive = 60 * random.int(8...13)
        return (0..<count).map { offset in
            let supplier = organization.firstSupplier + (first + offset) % organization.supplierCount
            return (supplier, offset == 0 ? "lead" : SeedVocabulary.scheduleRoles[1 + offset % 5], arrive + offset * 30)
        }
    }

    func writeSchedules(_ rows: inout CopyBuffer) async throws {
        var scheduleID = 1
        for (index, client) in clients.enumerated() {
            for schedule in schedules(of: client, id: index + 1) {
                rows.int(scheduleID)
                rows.int(Int(client.organization))
                rows.int(schedule.supplier)
                rows.int(index + 1)
                rows.day(CalendarDay(daysSinceEpoch: Int(client.weddingDay)))
                rows.text(schedule.role)
                rows.time(minutes: schedule.arrive)
                rows.time(minutes: min(23 * 60 + 30, schedule.arrive + 60 * 10))
                try await rows.endRow()
                scheduleID += 1
            }
        }
    }

    func writeTimelineEvents(_ rows: inout CopyBuffer) async throws {
        var scheduleID = 1
        var eventID = 1
        for (index, client) in clients.enumerated() {
            for schedule in schedules(of: client, id: index + 1) {
                var random = random(.timeline, scheduleID)
                var minute = schedule.arrive
                let venue = random.pick(SeedVocabulary.venues)
                for (title, minutes) in SeedVocabulary.timeline where random.chance(0.6) && minute + minutes < 24 * 60 {
                    rows.int(eventID)
                    rows.int(scheduleID)
                    rows.time(minutes: minute)
                    rows.int(minutes)
                    rows.text(title)
                    rows.text(venue)
                    try await rows.endRow()
                    minute += minutes
                    eventID += 1
                }
                scheduleID += 1
            }
        }
    }

    func writeBudgets(_ rows: inout CopyBuffer) async throws {
        var budgetID = 1
        for (index, client) in clients.enumerated() where client.hasBudget {
            var random = random(.budget, index + 1)
            rows.int(budgetID)
            rows.int(index + 1)
            rows.int(Int(client.organization))
            rows.money(pence: 100 * random.int(8_000...60_000))
            try await rows.endRow()
            budgetID += 1
        }
    }

    func writeBudgetItems(_ rows: inout CopyBuffer) async throws {
        var budgetID = 1
        var itemID = 1
        for (index, client) in clients.enumerated() where client.hasBudget {
            var random = random(.budget, index + 1)
            let total = 100 * random.int(8_000...60_000)
            let count = random.int(5...15)
            let past = Int(client.weddingDay) < anchor.daysSinceEpoch
            for item in 0..<count {
                let category = SeedVocabulary.budgetCategories[(item + index) % SeedVocabulary.budgetCategories.count]
                let estimate = max(5_000, total / count + random.int(-20_000...20_000))
                rows.int(itemID)
                rows.int(budgetID)
                rows.int(Int(client.organization))
                rows.text(category)
                rows.text("\(category) (\(["deposit", "balance", "full payment"][random.int(0...2)]))")
                rows.money(pence: estimate)
                if past || random.chance(0.3) {
                    rows.money(pence: max(0, estimate + random.int(-10_000...15_000)))
                } else {
                    rows.null()
                }
                rows.bool(past || random.chance(0.4))
                rows.day(CalendarDay(daysSinceEpoch: Int(client.weddingDay) - random.int(7...180)))
                try await rows.endRow()
                itemID += 1
            }
            budgetID += 1
        }
    }
}
