import Foundation
import NIOHTTP1
import Testing
import WedSyncCacheKit
import WedSyncModels
import WedSyncServiceKit
import WedSyncTestSupport

@testable import WedSyncCacheService

@Suite("Cron schedules and warming templates")
struct WarmingScheduleTests {
    let utc = TimeZone(identifier: "UTC")!

    func date(_ text: String, _ zone: TimeZone = TimeZone(identifier: "UTC")!) -> Date {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        formatter.timeZone = zone
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return formatter.date(from: text)!
    }

    @Test("Every Friday at 18:00, in the schedule's timezone")
    func friday() throws {
        let cron = try CronSchedule("0 18 * * fri")
        // 2026-06-10 is a Wednesday.
        #expect(cron.next(after: date("2026-06-10 09:00"), in: utc) == date("2026-06-12 18:00"))
        #expect(cron.next(after: date("2026-06-12 18:00"), in: utc) == date("2026-06-19 18:00"))
        let london = TimeZone(identifier: "Europe/London")!
        #expect(
            cron.next(after: date("2026-06-10 09:00"), in: london) == date("2026-06-12 17:00"),
            "18:00 BST is 17:00 UTC"
        )
    }

    @Test("Steps, ranges, lists, names, and the either-day rule")
    func fields() throws {
        #expect(
            try CronSchedule("*/15 9-10 * * *").next(after: date("2026-06-10 09:50"), in: utc)
                == date("2026-06-10 10:00")
        )
        #expect(
            try CronSchedule("30 6 1,15 * *").next(after: date("2026-06-02 00:00"), in: utc) == date("2026-06-15 06:30")
        )
        #expect(
            try CronSchedule("0 0 * jul sun").next(after: date("2026-06-10 00:00"), in: utc) == date("2026-07-05 00:00")
        )
        // Day 13 of the month or any Monday, whichever comes first (2026-06-15 is a Monday, 13 is a Saturday).
        #expect(
            try CronSchedule("0 12 13 * mon").next(after: date("2026-06-12 13:00"), in: utc) == date("2026-06-13 12:00")
        )
        #expect(
            try CronSchedule("0 0 * * 7").next(after: date("2026-06-10 00:00"), in: utc) == date("2026-06-14 00:00"),
            "7 is Sunday"
        )
        #expect(try CronSchedule("0 0 30 2 *").next(after: date("2026-06-10 00:00"), in: utc) == nil)
    }

    @Test("Malformed expressions are refused with the field named")
    func invalid() {
        for expression in [
            "* * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *", "5-1 * * * *", "* * * * funday", "a,b * * * *",
        ] {
            #expect(throws: CronSchedule.ParseError.self) { try CronSchedule(expression) }
        }
    }

    @Test("Templates: the firing day plus or minus days, environment variables; {key} is left for the loader")
    func templates() {
        let fired = date("2026-06-12 18:00")
        let text = WarmingSchedule.expand(
            "date={date+1}&prev={date-1}&on={date}&k={key}&t=${TOKEN}&$x",
            date: fired,
            timeZone: utc,
            environment: ["TOKEN": "abc"]
        )
        #expect(text == "date=2026-06-13&prev=2026-06-11&on=2026-06-12&k={key}&t=abc&$x")
    }

    @Test("A schedules file is read, and a bad one is refused naming the schedule")
    func file() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("warming-\(UUID().uuidString).yaml")
            .path
        try """
        schedules:
          - name: tomorrow-schedules
            cron: "0 18 * * fri"
            timezone: Europe/London
            warm:
              namespace: schedules
              keys: ["{date+1}"]
              loaderURL: "http://127.0.0.1:8090/api/supplier-schedules?date={key}"
              headers: {Authorization: "Bearer ${WEDSYNC_DEMO_TOKEN}"}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let schedules = try WarmingSchedule.load(path: path)
        #expect(schedules.count == 1)
        let request = schedules[0].0.request(
            firingAt: date("2026-06-12 17:00"),
            in: schedules[0].2,
            environment: ["WEDSYNC_DEMO_TOKEN": "t0k"]
        )
        #expect(request.keys == ["2026-06-13"])
        #expect(request.headers == ["Authorization": "Bearer t0k"])
        #expect(request.name == "tomorrow-schedules")
        try "schedules:\n  - name: broken\n    cron: \"61 * * * *\"\n    warm: {namespace: s}\n".write(
            toFile: path,
            atomically: true,
            encoding: .utf8
        )
        #expect(throws: ConfigurationError.self) { try WarmingSchedule.load(path: path) }
    }

    @Test("Shared max-age: CDN-Cache-Control first, then s-maxage, then max-age")
    func maxAge() {
        #expect(Warmer.sharedMaxAge(["CDN-Cache-Control": "max-age=60", "Cache-Control": "private, no-cache"]) == 60)
        #expect(Warmer.sharedMaxAge(["Cache-Control": "max-age=10, s-maxage=30"]) == 30)
        #expect(Warmer.sharedMaxAge(["Cache-Control": "max-age=10"]) == 10)
        #expect(Warmer.sharedMaxAge(["Cache-Control": "no-store"]) == nil)
    }
}

@Suite("Infrastructure files")
struct InfrastructureFileTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test("The shipped warming schedules warm the gateway in each organization's own time zone")
    func warmingFile() throws {
        let schedules = try WarmingSchedule.load(
            path: Self.root.appendingPathComponent("infrastructure/cache-warming.yaml").path
        )
        #expect(schedules.map(\.0.name) == ["saturday-pages", "wedding-morning"])
        #expect(schedules.allSatisfy { $0.0.firesPerOrganization && $0.0.warm.gateway != nil })
        let environment = ["WEDSYNC_API_URL": "http://api:8090", "WEDSYNC_GATEWAY_URL": "http://gateway:8080"]
        let zones = ["Europe/London", "Europe/Paris", "America/New_York", "Australia/Sydney", "Asia/Kolkata"].map {
            TimeZone(identifier: $0)!
        }
        // From Thursday 2026-06-11 12:00 UTC, the Friday 18:00 firings come in the zones' order around the world.
        var after = Date(timeIntervalSince1970: 1_781_179_200)
        var fired: [(Date, [String], WarmRequest)] = []
        while fired.count < 5,
            let (date, firings) = WarmingScheduler.firings(
                of: [schedules[0]],
                after: after,
                zones: zones,
                environment: environment
            )
        {
            for firing in firings {
                fired.append((date, firing.request.gateway?.timezones ?? [], firing.request))
            }
            after = date
        }
        let iso = ISO8601DateFormatter()
        #expect(
            fired.map { "\(iso.string(from: $0.0)) \($0.1.joined(separator: ","))" } == [
                "2026-06-12T08:00:00Z Australia/Sydney",  // 18:00 AEST
                "2026-06-12T12:30:00Z Asia/Kolkata",  // 18:00 IST, a half-hour offset
                "2026-06-12T16:00:00Z Europe/Paris",  // 18:00 CEST
                "2026-06-12T17:00:00Z Europe/London",  // 18:00 BST
                "2026-06-12T22:00:00Z America/New_York",  // 18:00 EDT
            ]
        )
        // Each warms the pages of Saturday in its own zone, through the gateway where the stack runs it.
        for (_, _, request) in fired {
            #expect(request.gateway?.targetsURL == "http://api:8090/v1/warming/targets?date=2026-06-13")
            #expect(request.gateway?.url == "http://gateway:8080")
            #expect(request.ttl == 129_600)
        }
    }
}

@Suite("Cache service settings")
struct CacheSettingsTests {
    func settings(_ environment: [String: String]) async throws -> CacheSettings {
        try CacheSettings(
            try await ServiceConfiguration.load(
                service: "wedsync-cache",
                defaultPort: 8081,
                arguments: ["wedsync-cache"],
                environment: environment
            )
        )
    }

    @Test("Per-namespace TTLs, lease namespaces, the encryption key and the CDN are read from their keys")
    func keys() async throws {
        let key = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        let settings = try await settings([
            "WEDSYNC_CACHE_NAMESPACE_TTLS": "schedules=600, clients=120",
            "WEDSYNC_CACHE_LOCK_NAMESPACES": "reports",
            "WEDSYNC_CACHE_ENCRYPTION_KEY": key,
            "WEDSYNC_CACHE_CDN_PURGE_URL": "http://cdn.internal/purge",
            "WEDSYNC_CACHE_NEGATIVE_TTL_SECONDS": "15",
        ])
        #expect(settings.cache.namespaces["schedules"]?.ttl == 600)
        #expect(settings.cache.namespaces["clients"]?.ttl == 120)
        #expect(settings.cache.namespaces["reports"]?.distributedLoadLock == true)
        #expect(settings.cache.defaultPolicy.negativeTTL == 15)
        #expect(settings.codec.encryptionKey != nil)
        #expect(settings.cdnPurgeURL == "http://cdn.internal/purge")
    }

    @Test("Bad values stop the service naming the key, never echoing a secret")
    func badValues() async throws {
        for (variable, value, key) in [
            ("WEDSYNC_CACHE_NAMESPACE_TTLS", "schedules", "cache.namespace-ttls"),
            ("WEDSYNC_CACHE_NAMESPACE_TTLS", "bad ns=10", "cache.namespace-ttls"),
            (
                "WEDSYNC_CACHE_ENCRYPTION_KEY", "not-base64-but-long-enough-to-pass-the-length-check",
                "cache.encryption-key"
            ),
            ("WEDSYNC_CACHE_TTL_SECONDS", "-1", "cache.ttl-seconds"),
            ("WEDSYNC_CACHE_CDN_PURGE_URL", "ftp://cdn", "cache.cdn.purge-url"),
            ("WEDSYNC_CACHE_LOCK_NAMESPACES", "a/b", "cache.lock-namespaces"),
        ] {
            do {
                _ = try await settings([variable: value])
                Issue.record("\(variable)=\(value) was accepted")
            } catch let error as ConfigurationError {
                #expect(error.key == key)
                #expect(!error.description.contains("not-base64"))
            }
        }
    }
}
