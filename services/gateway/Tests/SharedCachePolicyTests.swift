import Foundation
import HTTPTypes
import Testing
import WedSyncGateway
import WedSyncTestSupport

/// RFC 9111 for a shared cache, one row per rule.
@Suite("RFC 9111 shared cache policy")
struct SharedCachePolicyTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var rule: String
        var method: HTTPRequest.Method = .get
        var request: [(String, String)] = []
        var status = 200
        var response: [(String, String)]
        var expected: SharedCachePolicy.Decision
        var testDescription: String { rule }
    }

    static let date = "Sat, 13 Jun 2026 10:00:00 GMT"

    static func fresh(
        _ lifetime: Int,
        heuristic: Bool = false,
        revalidate: Bool = false,
        mustRevalidate: Bool = false,
        swr: Int = 0,
        sie: Int = 0
    ) -> SharedCachePolicy.Decision {
        .store(
            .init(
                lifetime: lifetime,
                isHeuristic: heuristic,
                requiresRevalidation: revalidate,
                mustRevalidateWhenStale: mustRevalidate,
                staleWhileRevalidate: swr,
                staleIfError: sie
            )
        )
    }

    static let rows: [Row] = [
        Row(
            rule: "§5.3 an Expires with dashes (not an HTTP-date) means already expired",
            response: [("Date", date), ("Expires", "Sat, 13-Jun-2026 10:10:00 GMT")],
            expected: fresh(0)
        ),
        Row(
            rule: "§5.3 an Expires with a one-digit hour means already expired",
            response: [("Date", date), ("Expires", "Sat, 13 Jun 2026 1:10:00 GMT")],
            expected: fresh(0)
        ),
        Row(
            rule: "§5.3 an Expires without the comma after the day name means already expired",
            response: [("Date", date), ("Expires", "Sat 13 Jun 2026 10:10:00 GMT")],
            expected: fresh(0)
        ),
        Row(
            rule: "§5.3 an Expires in UTC rather than GMT means already expired",
            response: [("Date", date), ("Expires", "Sat, 13 Jun 2026 10:10:00 UTC")],
            expected: fresh(0)
        ),
        Row(
            rule: "RFC 9110 §5.6.7 an RFC 850 Expires is a date",
            response: [("Date", date), ("Expires", "Saturday, 13-Jun-26 10:10:00 GMT")],
            expected: fresh(600)
        ),
        Row(
            rule: "RFC 9110 §5.6.7 an asctime Expires is a date",
            response: [("Date", date), ("Expires", "Sat Jun 13 10:10:00 2026")],
            expected: fresh(600)
        ),
        Row(
            rule: "§3 a 203 with explicit freshness is stored",
            status: 203,
            response: [("Cache-Control", "max-age=60")],
            expected: fresh(60)
        ),
        Row(
            rule: "§3 a 204 with explicit freshness is stored",
            status: 204,
            response: [("Cache-Control", "max-age=60")],
            expected: fresh(60)
        ),
        Row(
            rule: "§3 a 299 (a final status the cache does not know) with explicit freshness is stored",
            status: 299,
            response: [("Cache-Control", "max-age=60")],
            expected: fresh(60)
        ),
        Row(
            rule: "§3 a 400 with explicit freshness is stored",
            status: 400,
            response: [("Cache-Control", "max-age=60")],
            expected: fresh(60)
        ),
        Row(
            rule: "§3 a 410 with Expires is stored",
            status: 410,
            response: [("Date", date), ("Expires", "Sat, 13 Jun 2026 10:10:00 GMT")],
            expected: fresh(600)
        ),
        Row(
            rule: "§3 a 500 with explicit freshness is stored",
            status: 500,
            response: [("Cache-Control", "max-age=60")],
            expected: fresh(60)
        ),
        Row(
            rule: "§3 a 504 with s-maxage is stored",
            status: 504,
            response: [("Cache-Control", "s-maxage=60")],
            expected: fresh(60, mustRevalidate: true)
        ),
        Row(
            rule: "§3 a 599 with explicit freshness is stored",
            status: 599,
            response: [("Cache-Control", "public, max-age=60")],
            expected: fresh(60)
        ),
        Row(
            rule: "§4.2.2 a 500 without explicit freshness is not heuristically cacheable",
            status: 500,
            response: [("Date", date), ("Last-Modified", "Sat, 13 Jun 2026 09:00:00 GMT")],
            expected: .doNotStore(.notCacheable)
        ),
        Row(
            rule: "§3 a 206 is not stored (this cache does not combine ranges)",
            status: 206,
            response: [("Cache-Control", "max-age=60")],
            expected: .doNotStore(.status)
        ),
        Row(
            rule: "§3 a 416 is not stored (this cache does not check ranges)",
            status: 416,
            response: [("Cache-Control", "max-age=60")],
            expected: .doNotStore(.status)
        ),
        Row(
            rule: "RFC 6585 §3 a 428 is never stored",
            status: 428,
            response: [("Cache-Control", "public, max-age=60")],
            expected: .doNotStore(.status)
        ),
        Row(
            rule: "RFC 6585 §4 a 429 is never stored",
            status: 429,
            response: [("Cache-Control", "public, max-age=60")],
            expected: .doNotStore(.status)
        ),
        Row(
            rule: "RFC 6585 §6 a 511 is never stored",
            status: 511,
            response: [("Cache-Control", "public, max-age=60")],
            expected: .doNotStore(.status)
        ),
        Row(
            rule: "§5.2.2.3 must-understand: no-store is overridden for a status the cache understands",
            response: [("Cache-Control", "max-age=60, must-understand, no-store")],
            expected: fresh(60)
        ),
        Row(
            rule: "§5.2.2.3 must-understand: a status the cache does not understand is not stored",
            status: 299,
            response: [("Cache-Control", "max-age=60, must-understand, no-store")],
            expected: .doNotStore(.status)
        ),
        Row(
            rule: "§4.2.1 max-age gives the lifetime",
            response: [("Cache-Control", "max-age=60")],
            expected: fresh(60)
        ),
        Row(
            rule: "§4.2.1 s-maxage wins over max-age in a shared cache, and implies must-revalidate",
            response: [("Cache-Control", "max-age=60, s-maxage=300")],
            expected: fresh(300, mustRevalidate: true)
        ),
        Row(
            rule: "§4.2.1 Expires minus Date",
            response: [("Date", date), ("Expires", "Sat, 13 Jun 2026 10:10:00 GMT")],
            expected: fresh(600)
        ),
        Row(
            rule: "§4.2.1 max-age wins over Expires",
            response: [("Date", date), ("Expires", "Sat, 13 Jun 2026 10:10:00 GMT"), ("Cache-Control", "max-age=5")],
            expected: fresh(5)
        ),
        Row(
            rule: "§5.3 an invalid Expires means already expired",
            response: [("Date", date), ("Expires", "0")],
            expected: fresh(0)
        ),
        Row(
            rule: "§4.2.1 a repeated directive makes the response stale",
            response: [("Cache-Control", "max-age=60"), ("Cache-Control", "max-age=3600")],
            expected: fresh(0)
        ),
        Row(
            rule: "§1.2.2 an invalid delta-seconds makes the response stale",
            response: [("Cache-Control", "max-age=soon")],
            expected: fresh(0)
        ),
        Row(
            rule: "§1.2.2 delta-seconds above 2^31 count as 2^31",
            response: [("Cache-Control", "max-age=99999999999999999999")],
            expected: fresh(2_147_483_648)
        ),
        Row(
            rule: "§4.2.2 heuristic freshness: 10% of the time since Last-Modified",
            response: [("Date", date), ("Last-Modified", "Sat, 13 Jun 2026 00:00:00 GMT")],
            expected: fresh(3_600, heuristic: true)
        ),
        Row(
            rule: "§4.2.2 no heuristic for a status that is not heuristically cacheable",
            status: 302,
            response: [("Date", date), ("Last-Modified", "Sat, 13 Jun 2026 00:00:00 GMT")],
            expected: .doNotStore(.notCacheable)
        ),
        Row(
            rule: "§3 a 302 with max-age is stored",
            status: 302,
            response: [("Cache-Control", "max-age=30")],
            expected: fresh(30)
        ),
        Row(
            rule: "§3 no-store in the response",
            response: [("Cache-Control", "no-store, max-age=60")],
            expected: .doNotStore(.noStore)
        ),
        Row(
            rule: "§3 no-store in the request",
            request: [("Cache-Control", "no-store")],
            response: [("Cache-Control", "max-age=60")],
            expected: .doNotStore(.noStore)
        ),
        Row(
            rule: "§5.2.2.7 private: a shared cache does not store",
            response: [("Cache-Control", "private, max-age=60")],
            expected: .doNotStore(.isPrivate)
        ),
        Row(
            rule: "§5.2.2.4 no-cache: stored, revalidated on every use",
            response: [("Cache-Control", "no-cache, max-age=60")],
            expected: fresh(60, revalidate: true)
        ),
        Row(
            rule: "§5.2.2.2 must-revalidate",
            response: [("Cache-Control", "max-age=60, must-revalidate")],
            expected: fresh(60, mustRevalidate: true)
        ),
        Row(
            rule: "§3.5 Authorization: not stored without public, s-maxage or must-revalidate",
            request: [("Authorization", "Bearer t")],
            response: [("Cache-Control", "max-age=60")],
            expected: .doNotStore(.authorization)
        ),
        Row(
            rule: "§3.5 Authorization: stored with public",
            request: [("Authorization", "Bearer t")],
            response: [("Cache-Control", "public, max-age=60")],
            expected: fresh(60)
        ),
        Row(
            rule: "§3.5 Authorization: stored with s-maxage",
            request: [("Authorization", "Bearer t")],
            response: [("Cache-Control", "s-maxage=60")],
            expected: fresh(60, mustRevalidate: true)
        ),
        Row(
            rule: "§4.1 Vary: * never matches",
            response: [("Cache-Control", "max-age=60"), ("Vary", "Accept-Encoding, *")],
            expected: .doNotStore(.varyStar)
        ),
        Row(
            rule: "§3 unsafe methods are not stored",
            method: .post,
            response: [("Cache-Control", "max-age=60")],
            expected: .doNotStore(.method)
        ),
        Row(
            rule: "§3 a partial response is not stored",
            status: 206,
            response: [("Cache-Control", "max-age=60")],
            expected: .doNotStore(.status)
        ),
        Row(
            rule: "§3 a 200 without freshness information is stored stale (heuristically cacheable, nothing to go on)",
            response: [],
            expected: fresh(0, heuristic: true)
        ),
        Row(
            rule: "RFC 5861 stale-while-revalidate and stale-if-error",
            response: [("Cache-Control", "max-age=60, stale-while-revalidate=30, stale-if-error=86400")],
            expected: fresh(60, swr: 30, sie: 86_400)
        ),
        Row(
            rule: "RFC 9213 CDN-Cache-Control governs this cache instead of Cache-Control",
            response: [("Cache-Control", "private, no-cache"), ("CDN-Cache-Control", "max-age=60")],
            expected: fresh(60)
        ),
        Row(
            rule: "RFC 9213 CDN-Cache-Control no-store",
            response: [("Cache-Control", "max-age=600"), ("CDN-Cache-Control", "no-store")],
            expected: .doNotStore(.noStore)
        ),
        Row(
            rule: "§5.2 directive names are case-insensitive; quoted arguments are unwrapped",
            response: [("Cache-Control", #"Max-Age=60, no-cache="Set-Cookie, X-Token""#)],
            expected: fresh(60)
        ),
    ]

    @Test("Storability and freshness", arguments: rows)
    func rule(_ row: Row) {
        var request = HTTPFields()
        for (name, value) in row.request { request.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        var response = HTTPFields()
        for (name, value) in row.response { response.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        let decision = SharedCachePolicy().decide(
            method: row.method,
            request: request,
            status: row.status,
            response: response,
            receivedAt: HTTPDate.parse(Self.date)!
        )
        #expect(decision == row.expected)
    }

    @Test("§5.2 qualified no-cache and private name fields; quoted commas do not split directives")
    func qualified() {
        let directives = CacheControl(#"no-cache="Set-Cookie, X-Token", private="X-Secret", max-age=5"#)
        #expect(directives.noCacheFields == ["set-cookie", "x-token"])
        #expect(!directives.noCache)
        #expect(directives.privateFields == ["x-secret"])
        #expect(!directives.isPrivate)
        #expect(directives.maxAge == 5)
        let request = CacheControl("max-stale, min-fresh=10, only-if-cached")
        #expect(request.maxStaleUnlimited && request.minFresh == 10 && request.onlyIfCached)
    }

    @Test("§4.2.3 age: the larger of the apparent and the corrected Age, plus the time resident here")
    func age() {
        let requested = HTTPDate.parse("Sat, 13 Jun 2026 10:00:00 GMT")!
        let received = requested.addingTimeInterval(2)
        var response = HTTPFields()
        response[.date] = "Sat, 13 Jun 2026 09:59:50 GMT"
        response[.age] = "5"
        // apparent 12 s; corrected Age 5 + 2 s of delay = 7 s; resident 30 s.
        #expect(
            SharedCachePolicy.currentAge(
                response: response,
                requestedAt: requested,
                receivedAt: received,
                now: received.addingTimeInterval(30)
            ) == 42
        )
        response[.date] = "Sat, 13 Jun 2026 10:00:02 GMT"
        response[.age] = "100"
        #expect(
            SharedCachePolicy.currentAge(
                response: response,
                requestedAt: requested,
                receivedAt: received,
                now: received
            ) == 102
        )
    }

    @Test("HTTP-date in its three forms")
    func dates() {
        let expected = HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(expected != nil)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == expected)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == expected)
        #expect(HTTPDate.parse("yesterday") == nil)
        #expect(HTTPDate.format(expected!) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }
}
