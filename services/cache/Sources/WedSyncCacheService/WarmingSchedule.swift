import Foundation
import Logging
import ServiceLifecycle
import WedSyncModels
import WedSyncServiceKit
import Yams

/// Warming jobs started on a schedule, read from the YAML file `cache.warming-file`:
///
/// ```yaml
/// schedules:
///   - name: tomorrow-schedules
///     cron: "0 18 * * fri"          # every Friday at 18:00
///     timezone: Europe/London       # default UTC
///     warm:                         # a WarmRequest; {date}, {date+N}, {date-N} are the firing day ± N days,
///       namespace: schedules        # ${NAME} an environment variable
///       keys: ["{date+1}"]
///       loaderURL: "http://127.0.0.1:8090/api/supplier-schedules?date={key}"
///       headers: {Authorization: "Bearer ${WEDSYNC_DEMO_TOKEN}"}
/// ```
///
/// `timezone: organizations` fires a gateway job (``WarmRequest/Gateway``) in each organization's own time zone:
/// at 18:00 on Friday in London for London's businesses, five hours later for New York's, each job limited to the
/// organizations of the zones whose clocks read the cron's time (``WarmingScheduler/firings(of:after:)``).
struct WarmingSchedule: Sendable, Decodable {
    var name: String
    var cron: String
    var timezone: String?
    var warm: WarmRequest

    struct File: Decodable {
        var schedules: [WarmingSchedule]
    }

    /// The `timezone` of a schedule that fires in each organization's own time zone.
    static let perOrganization = "organizations"

    /// Whether the schedule fires in each organization's own time zone.
    var firesPerOrganization: Bool { timezone == Self.perOrganization }

    /// Parses and checks a schedules file; the error names the schedule and what is wrong.
    static func load(path: String) throws -> [(WarmingSchedule, CronSchedule, TimeZone)] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(key: "cache.warming-file", message: "cannot read the file")
        }
        let file: File
        do {
            file = try YAMLDecoder().decode(File.self, from: text)
        } catch {
            throw ConfigurationError(
                key: "cache.warming-file",
                message: "not a schedules file (schedules: [{name, cron, warm}])"
            )
        }
        return try file.schedules.map { schedule in
            let cron: CronSchedule
            do {
                cron = try CronSchedule(schedule.cron)
            } catch {
                throw ConfigurationError(key: "cache.warming-file", message: "schedule \(schedule.name): \(error)")
            }
            if schedule.firesPerOrganization {
                guard schedule.warm.gateway != nil else {
                    throw ConfigurationError(
                        key: "cache.warming-file",
                        message: "schedule \(schedule.name): timezone organizations needs a gateway job (warm.gateway)"
                    )
                }
                return (schedule, cron, TimeZone.gmt)
            }
            guard let zone = TimeZone(identifier: schedule.timezone ?? "UTC") else {
                throw ConfigurationError(
                    key: "cache.warming-file",
                    message: "schedule \(schedule.name): unknown timezone"
                )
            }
            return (schedule, cron, zone)
        }
    }

    /// The request with its templates filled in for a firing at `date`.
    func request(
        firingAt date: Date,
        in timeZone: TimeZone,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> WarmRequest {
        func fill(_ text: String) -> String {
            Self.expand(text, date: date, timeZone: timeZone, environment: environment)
        }
        var request = warm
        request.name = request.name ?? name
        request.keys = request.keys?.map(fill)
        request.urls = request.urls?.map(fill)
        request.pattern = request.pattern.map(fill)
        request.loaderURL = request.loaderURL.map(fill)
        request.requests = request.requests?.map {
            WarmRequest.Item(key: fill($0.key), url: fill($0.url), headers: $0.headers?.mapValues(fill))
        }
        request.headers = request.headers?.mapValues(fill)
        request.gateway = request.gateway.map {
            WarmRequest.Gateway(url: fill($0.url), targetsURL: fill($0.targetsURL), timezones: $0.timezones)
        }
        return request
    }

    /// Replaces `{date}`, `{date+N}`, `{date-N}` with the day (`YYYY-MM-DD` in `timeZone`) and `${NAME}` with the
    /// environment variable; `{key}` and anything else is left alone.
    static func expand(_ text: String, date: Date, timeZone: TimeZone, environment: [String: String]) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var result = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(where: { $0 == "{" || $0 == "$" }) {
            result += rest[..<open]
            rest = rest[open...]
            if rest.hasPrefix("${"), let close = rest.firstIndex(of: "}") {
                let name = String(rest[rest.index(rest.startIndex, offsetBy: 2)..<close])
                result += environment[name] ?? ""
                rest = rest[rest.index(after: close)...]
            } else if rest.hasPrefix("{date"), let close = rest.firstIndex(of: "}") {
                let offsetText = rest[rest.index(rest.startIndex, offsetBy: 5)..<close]
                let offset = offsetText.isEmpty ? 0 : Int(offsetText.replacingOccurrences(of: "+", with: ""))
                if let offset, let day = calendar.date(byAdding: .day, value: offset, to: date) {
                    let parts = calendar.dateComponents([.year, .month, .day], from: day)
                    result += String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
                } else {
                    result += rest[...close]
                }
                rest = rest[rest.index(after: close)...]
            } else {
                result.append(rest.removeFirst())
            }
        }
        return result + rest
    }
}

/// Starts the scheduled warming jobs when their cron expressions fire.
final class WarmingScheduler: Service, Sendable {
    typealias Entry = (WarmingSchedule, CronSchedule, TimeZone)

    /// What fires at one instant: a schedule's request, filled in for the day in its zone.
    struct Firing: Sendable {
        var schedule: String
        var request: WarmRequest
    }

    let schedules: [Entry]
    let warmer: Warmer
    let logger: Logger
    /// The wall clock; replaceable so a test can stand just before a firing.
    let clock: @Sendable () -> Date
    /// The zones a per-organization schedule may fire in: every zone the system knows.
    static let knownZones: [TimeZone] = TimeZone.knownTimeZoneIdentifiers.compactMap(TimeZone.init(identifier:))

    init(
        schedules: [Entry],
        warmer: Warmer,
        logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.schedules = schedules
        self.warmer = warmer
        self.logger = logger
        self.clock = clock
    }

    /// The first instant after `after` at which any schedule fires, and what fires then. A per-organization
    /// schedule fires once for every group of zones whose clocks read its time on the same day: its request's
    /// `gateway.timezones` names them, and its dates are that day's.
    static func firings(
        of schedules: [Entry],
        after: Date,
        zones: [TimeZone] = knownZones,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> (Date, [Firing])? {
        var soonest: Date?
        var due: [(Int, TimeZone)] = []
        for (index, entry) in schedules.enumerated() {
            for zone in entry.0.firesPerOrganization ? zones : [entry.2] {
                guard let next = entry.1.next(after: after, in: zone) else { continue }
                if soonest == nil || next < soonest! {
                    soonest = next
                    due = [(index, zone)]
                } else if next == soonest {
                    due.append((index, zone))
                }
            }
        }
        guard let soonest else { return nil }
        var firings: [Firing] = []
        for index in Set(due.map(\.0)).sorted() {
            let schedule = schedules[index].0
            let zones = due.filter { $0.0 == index }.map(\.1)
            guard schedule.firesPerOrganization else {
                let request = schedule.request(firingAt: soonest, in: zones[0], environment: environment)
                firings.append(Firing(schedule: schedule.name, request: request))
                continue
            }
            // Zones whose clocks read the same time may still be on different days (across the date line).
            var byDay: [String: [TimeZone]] = [:]
            for zone in zones {
                byDay[WarmingSchedule.expand("{date}", date: soonest, timeZone: zone, environment: [:]), default: []]
                    .append(zone)
            }
            for day in byDay.keys.sorted() {
                let group = byDay[day]!
                var request = schedule.request(firingAt: soonest, in: group[0], environment: environment)
                request.gateway?.timezones = group.map(\.identifier).sorted()
                firings.append(Firing(schedule: schedule.name, request: request))
            }
        }
        return (soonest, firings)
    }

    func run() async throws {
        guard !schedules.isEmpty else { return }
        await cancelWhenGracefulShutdown {
            var after = self.clock()
            while !Task.isCancelled {
                guard let (date, firings) = Self.firings(of: self.schedules, after: after) else { return }
                let wait = date.timeIntervalSince(self.clock())
                if wait > 0 {
                    do { try await Task.sleep(for: .milliseconds(Int(wait * 1000) + 1)) } catch { return }
                }
                for firing in firings {
                    do {
                        let job = try await self.warmer.submit(firing.request)
                        self.logger.notice(
                            "scheduled cache warming started",
                            metadata: ["cache.schedule": "\(firing.schedule)", "cache.job": "\(job.id)"]
                        )
                    } catch {
                        self.logger.error(
                            "scheduled cache warming refused",
                            metadata: ["cache.schedule": "\(firing.schedule)", "cache.error": "\(error)"]
                        )
                    }
                }
                after = date
            }
        }
    }
}
