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
struct WarmingSchedule: Sendable, Decodable {
    var name: String
    var cron: String
    var timezone: String?
    var warm: WarmRequest

    struct File: Decodable {
        var schedules: [WarmingSchedule]
    }

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
    let schedules: [(WarmingSchedule, CronSchedule, TimeZone)]
    let warmer: Warmer
    let logger: Logger
    /// The wall clock; replaceable so a test can stand just before a firing.
    let clock: @Sendable () -> Date

    init(
        schedules: [(WarmingSchedule, CronSchedule, TimeZone)],
        warmer: Warmer,
        logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.schedules = schedules
        self.warmer = warmer
        self.logger = logger
        self.clock = clock
    }

    func run() async throws {
        guard !schedules.isEmpty else { return }
        await cancelWhenGracefulShutdown {
            var after = self.clock()
            while !Task.isCancelled {
                let upcoming = self.schedules.compactMap { entry in
                    entry.1.next(after: after, in: entry.2).map { ($0, entry) }
                }
                guard let soonest = upcoming.min(by: { $0.0 < $1.0 }) else { return }
                let wait = soonest.0.timeIntervalSince(self.clock())
                if wait > 0 {
                    do { try await Task.sleep(for: .milliseconds(Int(wait * 1000) + 1)) } catch { return }
                }
                for (date, entry) in upcoming where date == soonest.0 {
                    let (schedule, _, zone) = entry
                    do {
                        let job = try await self.warmer.submit(schedule.request(firingAt: date, in: zone))
                        self.logger.notice(
                            "scheduled cache warming started",
                            metadata: ["cache.schedule": "\(schedule.name)", "cache.job": "\(job.id)"]
                        )
                    } catch {
                        self.logger.error(
                            "scheduled cache warming refused",
                            metadata: ["cache.schedule": "\(schedule.name)", "cache.error": "\(error)"]
                        )
                    }
                }
                after = soonest.0
            }
        }
    }
}
