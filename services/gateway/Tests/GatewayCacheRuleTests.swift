import AsyncHTTPClient
import CompressNIO
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import WedSyncGateway
import WedSyncTestSupport

/// The gateway's response cache against RFC 9111 (and RFC 5861, RFC 9213), one row per rule: a scripted origin
/// answers, the gateway (a real process, L2 on the test Redis) is asked twice, and the second answer's `x-cache`
/// and the number of requests that reached the origin show whether the rule held. The gateway stores a response just
/// after sending it, so a test waits until it is stored (``stored(_:_:headers:matching:)``), or until the gateway's
/// background work is done (``InProcessGateway/settled()``), before asking again. Rules about staleness move the
/// gateway's clock instead of sleeping.
@Suite("Gateway: RFC 9111 shared-cache rules", .serialized)
struct GatewayCacheRuleTests {
    struct Rule: Sendable, CustomTestStringConvertible {
        var rule: String
        var headers: [(String, String)]
        var first: [(String, String)] = []
        var second: [(String, String)]? = nil
        var secondMethod: HTTPMethod = .GET
        /// Whether the gateway keeps the first answer where a lookup sees it: the test waits until it does before
        /// going on. False for answers it does not store, or keeps too briefly to look at (one second).
        var kept = true
        /// Seconds the gateway's clock moves on before the second request, once the first answer is stored (for
        /// rules about staleness).
        var wait: Double = 0
        /// What the origin does once the first answer is in.
        var then: Then = .same
        var expected: String
        var status = 200
        var originRequests: Int
        /// The status the origin answers with.
        var originStatus = 200
        /// A third request after the second, when the rule is about what the second left stored.
        var third: Third? = nil

        enum Then: Sendable {
            case same, fail503
            /// An unsafe request (`POST`, or a method the gateway does not know) answered 200 by the origin.
            case unsafe(HTTPMethod)
            /// The origin answers with these fields from now on.
            case change([(String, String)])
        }

        struct Third: Sendable {
            var expected: String
            /// A field the third answer must carry.
            var field: (String, String)?
        }

        var testDescription: String { rule }
    }

    static let run = UUID().uuidString.prefix(8)

    static let rules: [Rule] = [
        Rule(
            rule: "§4.2.1 max-age makes a stored response fresh",
            headers: [("Cache-Control", "max-age=60")],
            expected: "HIT",
            originRequests: 1
        ),
        Rule(
            rule: "§5.2.2.10 s-maxage overrides max-age in a shared cache",
            headers: [("Cache-Control", "max-age=0, s-maxage=60")],
            expected: "HIT",
            originRequests: 1
        ),
        Rule(
            rule: "§5.3 Expires after Date makes it fresh",
            headers: [("Expires", HTTPDate.format(Date().addingTimeInterval(120))), ("Date", HTTPDate.format(Date()))],
            expected: "HIT",
            originRequests: 1
        ),
        Rule(
            rule: "§5.3 an invalid Expires means already expired",
            headers: [("Expires", "0")],
            kept: false,
            expected: "MISS",
            originRequests: 2
        ),
        Rule(
            rule: "RFC 9213 CDN-Cache-Control governs this cache over Cache-Control",
            headers: [("Cache-Control", "no-store"), ("CDN-Cache-Control", "max-age=60")],
            expected: "HIT",
            originRequests: 1
        ),
        Rule(
            rule: "§5.2.2.5 no-store is never stored",
            headers: [("Cache-Control", "no-store, max-age=60")],
            kept: false,
            expected: "MISS",
            originRequests: 2
        ),
        Rule(
            rule: "§5.2.2.7 private is never stored by a shared cache",
            headers: [("Cache-Control", "private, max-age=60")],
            kept: false,
            expected: "MISS",
            originRequests: 2
        ),
        Rule(
            rule: "§5.2.2.4 no-cache is validated on every use",
            headers: [("Cache-Control", "no-cache"), ("ETag", "\"v1\"")],
            expected: "REVALIDATED",
            originRequests: 2
        ),
        Rule(
            rule: "§3.5 a request with Authorization is not stored without public, s-maxage or must-revalidate",
            headers: [("Cache-Control", "max-age=60")],
            first: [("Authorization", "Bearer x")],
            second: [("Authorization", "Bearer x")],
            kept: false,
            expected: "MISS",
            originRequests: 2
        ),
        Rule(
            rule: "§3.5 public lets a response to Authorization be stored",
            headers: [("Cache-Control", "public, max-age=60")],
            first: [("Authorization", "Bearer x")],
            second: [("Authorization", "Bearer x")],
            expected: "HIT",
            originRequests: 1
        ),
        Rule(
            rule: "a response stored for one credential is not served to another (public route)",
            headers: [("Cache-Control", "public, max-age=60")],
            first: [("Authorization", "Bearer x")],
            second: [("Authorization", "Bearer y")],
            expected: "MISS",
            originRequests: 2
        ),
        Rule(
            rule: "§1.2.2 an Age beyond 2^31 is 2^31: stale, and no crash",
            headers: [("Cache-Control", "max-age=60"), ("Age", "99999999999999999999999")],
            expected: "MISS",
            originRequests: 2
        ),
        Rule(
            rule: "§1.2.2 a max-age beyond 2^31 is 2^31",
            headers: [("Cache-Control", "max-age=99999999999999")],
            expected: "HIT",
            originRequests: 1
        ),
        Rule(
            rule: "§4.1 Vary: the same field value uses the stored variant",
            headers: [("Cache-Control", "max-age=60"), ("Vary", "X-Lang")],
            first: [("X-Lang", "en")],
            second: [("X-Lang", "en")],
            expected: "HIT",
            originRequests: 1
        ),
        Rule(
            rule: "§4.1 Vary: another field value is another variant",
            headers: [("Cache-Control", "max-age=60"), ("Vary", "X-Lang")],
            first: [("X-Lang", "en")],
            second: [("X-Lang", "fr")],
            expected: "MISS",
            originRequests: 2
        ),
        Rule(
            rule: "§4.1 Vary: * is never reused",
            headers: [("Cache-Control", "max-age=60"), ("Vary", "*")],
            kept: false,
            expected: "MISS",
            originRequests: 2
        ),
        Rule(
            rule: "a Set-Cookie response is never shared",
            headers: [("Cache-Control", "max-age=60"), ("Set-Cookie", "session=abc")],
            kept: false,
            expected: "MISS",
            originRequests: 2
        ),
        Rule(
            rule: "§4.2.2 heuristic freshness from Last-Modified",
            headers: [("Last-Modified", HTTPDate.format(Date().addingTimeInterval(-10 * 86_400)))],
            expected: "HIT",
            originRequests: 1
        ),
        Rule(
            rule: "no freshness and no validator: not reused",
            headers: [("X-Nothing", "1")],
            kept: false,
            expected: "MISS",
            originRequests: 2
        ),
        Rule(
            rule: "§4.2.3 Age the response arrived with counts",
            headers: [("Cache-Control", "max-age=60"), ("Age", "120")],
            expected: "MISS",
            originRequests: 2
        ),
        Rule(
            rule: "§4.3.2 a matching If-None-Match is answered 304 from the cache",
            headers: [("Cache-Control", "max-age=60"), ("ETag", "\"v7\"")],
            second: [("If-None-Match", "\"v7\"")],
            expected: "HIT",
            status: 304,
            originRequests: 1
        ),
        Rule(
            rule: "§5.2.1.1 a request's max-age=0 makes it validate",
            headers: [("Cache-Control", "max-age=60"), ("ETag", "\"v2\"")],
            second: [("Cache-Control", "max-age=0")],
            expected: "REVALIDATED",
            originRequests: 2
        ),
        Rule(
            rule: "§5.2.1.5 a request's no-store bypasses the cache",
            headers: [("Cache-Control", "max-age=60")],
            second: [("Cache-Control", "no-store")],
            expected: "BYPASS",
            originRequests: 2
        ),
        Rule(
            rule: "§4.3.5 HEAD is answered from a stored GET",
            headers: [("Cache-Control", "max-age=60")],
            secondMethod: .HEAD,
            expected: "HIT",
            originRequests: 1
        ),
        Rule(
            rule: "§4.4 a successful unsafe request invalidates the target",
            headers: [("Cache-Control", "max-age=60")],
            then: .unsafe(.POST),
            expected: "MISS",
            originRequests: 2
        ),
        Rule(
            rule: "§4.4 an unsafe method the gateway does not know (M-SEARCH) is forwarded as sent and invalidates",
            headers: [("Cache-Control", "max-age=60")],
            then: .unsafe(.RAW(value: "M-SEARCH")),
            expected: "MISS",
            originRequests: 2
        ),
        Rule(
            rule: "§4.4 an extension method (PURGE) is forwarded and its success invalidates",
            headers: [("Cache-Control", "max-age=60")],
            then: .unsafe(.RAW(value: "PURGE")),
            expected: "MISS",
            originRequests: 2
        ),
        Rule(
            rule: "§4.3.5 a HEAD on a stale GET goes upstream and its 200 updates the stored fields and freshness",
            headers: [("Cache-Control", "max-age=1"), ("ETag", "\"h1\""), ("X-Version", "1")],
            secondMethod: .HEAD,
            wait: 2.2,
            then: .change([("Cache-Control", "max-age=600"), ("ETag", "\"h1\""), ("X-Version", "2")]),
            expected: "MISS",
            originRequests: 2,
            third: Rule.Third(expected: "HIT", field: ("X-Version", "2"))
        ),
        Rule(
            rule: "§4.3.5 a HEAD whose 200 names another ETag makes the stored GET unusable",
            headers: [("Cache-Control", "max-age=1"), ("ETag", "\"e1\"")],
            secondMethod: .HEAD,
            wait: 2.2,
            then: .change([("Cache-Control", "max-age=600"), ("ETag", "\"e2\"")]),
            expected: "MISS",
            originRequests: 2,
            third: Rule.Third(expected: "MISS", field: ("ETag", "\"e2\""))
        ),
        Rule(
            rule: "RFC 9110 §14.2 a range of a stored 200 is answered 206 from the cache",
            headers: [("Cache-Control", "max-age=60")],
            second: [("Range", "bytes=2-5")],
            expected: "HIT",
            status: 206,
            originRequests: 1
        ),
        Rule(
            rule: "RFC 9110 §14.2 a range past a stored 200's end is refused with 416 from the cache",
            headers: [("Cache-Control", "max-age=60")],
            second: [("Range", "bytes=500-")],
            expected: "HIT",
            status: 416,
            originRequests: 1
        ),
        Rule(
            rule: "§3 a 404 with explicit freshness is stored and served",
            headers: [("Cache-Control", "max-age=60")],
            expected: "HIT",
            status: 404,
            originRequests: 1,
            originStatus: 404
        ),
        Rule(
            rule: "§3 a 503 with explicit freshness is stored and served",
            headers: [("Cache-Control", "max-age=60")],
            expected: "HIT",
            status: 503,
            originRequests: 1,
            originStatus: 503
        ),
        Rule(
            rule: "§3 a status the cache does not know (299) with explicit freshness is stored and served",
            headers: [("Cache-Control", "max-age=60")],
            expected: "HIT",
            status: 299,
            originRequests: 1,
            originStatus: 299
        ),
        Rule(
            rule: "§5.3 an Expires with dashes is not a date: the response is already stale",
            headers: [("Expires", "Sat, 13-Jun-2099 10:10:00 GMT"), ("Date", HTTPDate.format(Date()))],
            kept: false,
            expected: "MISS",
            originRequests: 2
        ),
        Rule(
            rule: "§5.3 an Expires in UTC rather than GMT is not a date: the response is already stale",
            headers: [("Expires", "Sat, 13 Jun 2099 10:10:00 UTC"), ("Date", HTTPDate.format(Date()))],
            kept: false,
            expected: "MISS",
            originRequests: 2
        ),
        Rule(
            rule: "§5.2.2.3 must-understand overrides no-store for a status the cache understands",
            headers: [("Cache-Control", "max-age=60, must-understand, no-store")],
            expected: "HIT",
            originRequests: 1
        ),
        Rule(
            rule: "§5.2.2.3 must-understand with a status the cache does not understand: not stored",
            headers: [("Cache-Control", "max-age=60, must-understand, no-store")],
            kept: false,
            expected: "MISS",
            status: 299,
            originRequests: 2,
            originStatus: 299
        ),
        Rule(
            rule: "§3.4 a range request goes upstream as sent and nothing it brings is stored",
            headers: [("Cache-Control", "max-age=60")],
            first: [("Range", "bytes=0-3")],
            kept: false,
            expected: "BYPASS",
            originRequests: 2
        ),
        Rule(
            rule: "§3 a precondition's failure (412) is that request's own: never stored",
            headers: [("Cache-Control", "public, max-age=60")],
            kept: false,
            expected: "MISS",
            status: 412,
            originRequests: 2,
            originStatus: 412
        ),
        Rule(
            rule: "RFC 6585 §4 a 429 is never stored, whatever its freshness",
            headers: [("Cache-Control", "public, max-age=60")],
            kept: false,
            expected: "MISS",
            status: 429,
            originRequests: 2,
            originStatus: 429
        ),
        Rule(
            rule: "§4.2.4 must-revalidate: stale is validated, never served",
            headers: [
                ("Cache-Control", "max-age=1, must-revalidate, stale-while-revalidate=60, stale-if-error=60"),
                ("ETag", "\"m1\""),
            ],
            wait: 2.2,
            expected: "REVALIDATED",
            originRequests: 2
        ),
        Rule(
            rule: "RFC 5861 stale-while-revalidate serves stale and refreshes in the background",
            headers: [("Cache-Control", "max-age=1, stale-while-revalidate=60")],
            wait: 2.2,
            expected: "STALE",
            originRequests: 2
        ),
        Rule(
            rule: "RFC 5861 stale-if-error serves stale while the origin fails",
            headers: [("Cache-Control", "max-age=1, stale-if-error=60")],
            wait: 2.2,
            then: .fail503,
            expected: "STALE",
            originRequests: 2
        ),
        Rule(
            rule: "without stale-if-error the origin's failure is passed on",
            headers: [("Cache-Control", "max-age=1")],
            kept: false,
            wait: 2.2,
            then: .fail503,
            expected: "MISS",
            status: 503,
            originRequests: 2
        ),
    ]

    /// Waits until `gateway` holds a stored response for `path` (asked with `headers`), one `matching` accepts when
    /// given. It asks with `only-if-cached, max-stale`, which never reaches the origin nor changes what is stored: a
    /// stored response is served, fresh or stale (never refreshed), or, when it must be validated first, refused with
    /// a 504 that says so; with nothing stored, the 504 says that instead (§5.2.1.7).
    static func stored(
        _ gateway: String,
        _ path: String,
        headers: [(String, String)] = [],
        status: Int = 200,
        matching: ((HTTP.Answer) -> Bool)? = nil
    ) async -> Bool {
        await eventually(timeout: .seconds(15)) {
            guard
                let answer = try? await HTTP.get(
                    gateway + path,
                    headers: headers + [("Cache-Control", "only-if-cached, max-stale")]
                )
            else {
                return false
            }
            if let matching { return answer.status == status && matching(answer) }
            return answer.status == status
                || (answer.status == 504 && answer.text.contains("stored response needs validation"))
        }
    }

    @Test("Each rule", arguments: rules)
    func rule(_ rule: Rule) async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/rule-\(Self.run)-\(Self.rules.firstIndex { $0.rule == rule.rule }!)"
        fixture.origin.set(path, status: rule.originStatus, headers: rule.headers)
        let first = try await HTTP.get(fixture.gateway.baseURL + path, headers: rule.first)
        #expect(first.status == rule.originStatus, "\(rule.rule): first answer \(first.status)")
        if rule.kept {
            #expect(
                await Self.stored(fixture.gateway.baseURL, path, headers: rule.first, status: rule.originStatus),
                "\(rule.rule): the first answer was never stored"
            )
        }
        // Nothing stored to wait for, or stored: either way the fetch that got the answer has let go of the URL (until
        // then a request would share that answer).
        await fixture.gateway.settled()
        // Moved back afterwards: the origin's Date fields follow the real clock, and a gateway clock left ahead
        // would make every later response arrive already aged.
        fixture.gateway.clock.advance(by: rule.wait)
        defer { fixture.gateway.clock.advance(by: -rule.wait) }
        switch rule.then {
        case .same: break
        case .fail503:
            fixture.origin.set(
                path,
                status: 503,
                headers: [("Cache-Control", "no-store")],
                body: "{\"error\":{\"code\":\"down\",\"message\":\"down\"}}"
            )
        case .unsafe(let method):
            // §4.4's invalidation is done before the unsafe request is answered: the next read follows at once.
            let unsafe = try await HTTP.send(method, fixture.gateway.baseURL + path, body: "{}")
            #expect(unsafe.status == 200)
            // The origin parses with NIO, which takes `M-SEARCH` (and no `MSEARCH`) off the wire and names it
            // `MSEARCH`: its 200 shows the method went as sent.
            #expect(
                fixture.origin.requests(path).last?.method.filter { $0 != "-" } == method.rawValue.filter { $0 != "-" },
                "\(rule.rule): method forwarded"
            )
        case .change(let headers):
            fixture.origin.set(path, status: rule.originStatus, headers: headers)
        }
        let second = try await HTTP.send(
            rule.secondMethod,
            fixture.gateway.baseURL + path,
            headers: rule.second ?? rule.first
        )
        #expect(
            second.headers.first(name: "x-cache") == rule.expected,
            "\(rule.rule): x-cache \(second.headers.first(name: "x-cache") ?? "none")"
        )
        #expect(second.status == rule.status, "\(rule.rule): status \(second.status)")
        let reached = await eventually(timeout: .seconds(15)) {
            fixture.origin.requests(path).filter { $0.method == "GET" || $0.method == "HEAD" }.count
                >= rule.originRequests
        }
        #expect(reached)
        // A background refresh, if the rule started one, is over: no request is left to reach the origin.
        await fixture.gateway.settled()
        #expect(
            fixture.origin.requests(path).filter { $0.method == "GET" || $0.method == "HEAD" }.count
                == rule.originRequests,
            "\(rule.rule): origin requests"
        )
        if let third = rule.third {
            await fixture.gateway.settled()
            let answer = try await HTTP.get(fixture.gateway.baseURL + path, headers: rule.first)
            #expect(
                answer.headers.first(name: "x-cache") == third.expected,
                "\(rule.rule): third x-cache \(answer.headers.first(name: "x-cache") ?? "none")"
            )
            if let (name, value) = third.field {
                #expect(answer.headers.first(name: name) == value, "\(rule.rule): third answer's \(name)")
            }
        }
        if rule.expected == "REVALIDATED" {
            #expect(
                fixture.origin.requests(path).last?.headers[.ifNoneMatch] != nil,
                "\(rule.rule): the validation was conditional"
            )
        }
        if rule.expected == "HIT" {
            #expect(second.headers.first(name: "x-cache-tier") == "L1")
        }
    }

    @Test("§4.2.3 Age includes the age the response arrived with, and time spent in the cache")
    func age() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/age-\(Self.run)"
        fixture.origin.set(path, headers: [("Cache-Control", "max-age=600"), ("Age", "100")])
        _ = try await HTTP.get(fixture.gateway.baseURL + path)
        #expect(await Self.stored(fixture.gateway.baseURL, path))
        // A second in the cache, which the Age must count.
        fixture.gateway.clock.advance(by: 1.1)
        defer { fixture.gateway.clock.advance(by: -1.1) }
        let second = try await HTTP.get(fixture.gateway.baseURL + path)
        #expect(second.headers.first(name: "x-cache") == "HIT")
        #expect((second.headers.first(name: "age").flatMap(Int.init) ?? 0) >= 101)
    }

    @Test("§4.3.4 a 304 carrying Set-Cookie updates the stored response without it: no later caller gets that cookie")
    func revalidationNeverStoresSetCookie() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/cookie-\(Self.run)"
        fixture.origin.set(path, headers: [("Cache-Control", "max-age=60"), ("ETag", "\"c1\"")])
        let first = try await HTTP.get(fixture.gateway.baseURL + path)
        #expect(first.headers.first(name: "x-cache") == "MISS")
        #expect(await Self.stored(fixture.gateway.baseURL, path))
        // The origin now answers its validation with a cookie meant for whoever asked (and a field that shows when
        // the updated response is stored).
        fixture.origin.set(
            path,
            headers: [
                ("Cache-Control", "max-age=60"), ("ETag", "\"c1\""), ("Set-Cookie", "session=for-one-caller"),
                ("X-Revision", "2"),
            ]
        )
        let revalidated = try await HTTP.get(fixture.gateway.baseURL + path, headers: [("Cache-Control", "max-age=0")])
        #expect(revalidated.headers.first(name: "x-cache") == "REVALIDATED")
        #expect(fixture.origin.requests(path).last?.headers[.ifNoneMatch] == "\"c1\"")
        #expect(
            await Self.stored(fixture.gateway.baseURL, path) { $0.headers.first(name: "x-revision") == "2" },
            "the updated response was never stored"
        )
        let later = try await HTTP.get(fixture.gateway.baseURL + path)
        #expect(later.status == 200)
        #expect(later.headers.first(name: "x-cache") == "HIT")
        #expect(later.headers.first(name: "set-cookie") == nil, "the stored response kept the 304's Set-Cookie")
        #expect(fixture.origin.count(path) == 2)
    }

    @Test("§5.2.1.7 only-if-cached with nothing stored answers 504")
    func onlyIfCached() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/only-\(Self.run)"
        fixture.origin.set(path, headers: [("Cache-Control", "max-age=60")])
        let answer = try await HTTP.get(fixture.gateway.baseURL + path, headers: [("Cache-Control", "only-if-cached")])
        #expect(answer.status == 504)
        #expect(answer.text.contains("only_if_cached"))
        #expect(fixture.origin.count(path) == 0)
    }

    @Test("Concurrent misses of one URL reach the origin once (request coalescing)")
    func coalescing() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/coalesce-\(Self.run)"
        fixture.origin.set(path, .init(headers: [("Cache-Control", "max-age=60")], delay: .milliseconds(400)))
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<25 { group.addTask { try await HTTP.get(fixture.gateway.baseURL + path).status } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.allSatisfy { $0 == 200 })
        #expect(fixture.origin.count(path) == 1)
    }

    @Test(
        "JSON above 1 KB is gzipped once and kept so; a client without gzip gets it decompressed, with Vary: Accept-Encoding"
    )
    func gzip() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/gzip-\(Self.run)"
        let body =
            "{\"guests\":[" + (0..<200).map { "{\"id\":\($0),\"table\":\"table \($0 % 12)\"}" }.joined(separator: ",")
            + "]}"
        fixture.origin.set(
            path,
            status: 200,
            headers: [("Cache-Control", "max-age=60"), ("ETag", "\"g1\"")],
            body: body
        )
        let zipped = try await HTTP.send(
            .GET,
            fixture.gateway.baseURL + path,
            headers: [("Accept-Encoding", "gzip")],
            client: HTTP.raw
        )
        #expect(zipped.headers.first(name: "content-encoding") == "gzip")
        #expect(zipped.body.readableBytes < body.utf8.count / 3)
        #expect(zipped.headers.first(name: "vary")?.lowercased().contains("accept-encoding") == true)
        #expect(zipped.headers.first(name: "etag") == "W/\"g1\"")
        var compressed = zipped.body
        #expect(String(buffer: try compressed.decompress(with: .gzip(), maxSize: 1 << 20)) == body)
        #expect(await Self.stored(fixture.gateway.baseURL, path))
        let odd = try await HTTP.send(
            .GET,
            fixture.gateway.baseURL + path,
            headers: [("Accept-Encoding", ";, ;q=, gzip;q=x")],
            client: HTTP.raw
        )
        #expect(odd.status == 200, "a malformed Accept-Encoding is not a crash")
        let plain = try await HTTP.send(
            .GET,
            fixture.gateway.baseURL + path,
            headers: [("Accept-Encoding", "identity")],
            client: HTTP.raw
        )
        #expect(plain.headers.first(name: "x-cache") == "HIT")
        #expect(plain.headers.first(name: "content-encoding") == nil)
        #expect(plain.text == body)
        #expect(plain.headers.first(name: "etag") == "\"g1\"")
        #expect(fixture.origin.count(path) == 1)
        #expect(fixture.origin.requests(path).first?.headers[.acceptEncoding] == "gzip")
    }

    @Test(
        "Bodies stream through: a 12 MB response above the object limit passes unstored, a 20 MB upload reaches the origin whole"
    )
    func streaming() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/big-\(Self.run)"
        let big = String(repeating: "0123456789abcdef", count: 12 << 16)
        fixture.origin.set(
            path,
            status: 200,
            headers: [("Cache-Control", "max-age=60"), ("Content-Type", "application/octet-stream")],
            body: big
        )
        for _ in 0..<2 {
            let answer = try await HTTP.send(.GET, fixture.gateway.baseURL + path, client: HTTP.raw)
            #expect(answer.status == 200)
            #expect(answer.body.readableBytes == big.utf8.count)
            #expect(answer.headers.first(name: "x-cache") == "MISS")
        }
        #expect(fixture.origin.count(path) == 2)
        let upload = "/upload-\(Self.run)"
        fixture.origin.set(upload, headers: [("Cache-Control", "no-store")])
        let posted = try await HTTP.send(
            .POST,
            fixture.gateway.baseURL + upload,
            headers: [("Content-Type", "application/octet-stream")],
            body: String(repeating: "x", count: 20 << 20),
            client: HTTP.raw
        )
        #expect(posted.status == 200)
        #expect(fixture.origin.requests(upload).first?.bodyBytes == 20 << 20)
    }

    @Test("A response read before an invalidation of its tag is not stored after it")
    func raceWithInvalidation() async throws {
        let fixture = try await GatewayFixture.shared()
        let path = "/race-\(Self.run)"
        fixture.origin.set(
            path,
            .init(
                headers: [("Cache-Control", "max-age=600"), ("Cache-Tag", "race:\(Self.run)")],
                delay: .milliseconds(600)
            )
        )
        let slow = Task { try await HTTP.get(fixture.gateway.baseURL + path) }
        // The purge comes once the origin has the request (the gateway noted the invalidation sequence as it asked).
        #expect(await eventually(timeout: .seconds(15)) { fixture.origin.count(path) == 1 })
        let purge = try await HTTP.send(
            .POST,
            fixture.gateway.baseURL + "/admin/purge",
            headers: GatewayProcess.admin + [("Content-Type", "application/json")],
            body: "{\"tags\":[\"race:\(Self.run)\"]}"
        )
        #expect(purge.status == 200)
        #expect(try await slow.value.status == 200)
        fixture.origin.set(path, headers: [("Cache-Control", "max-age=600"), ("Cache-Tag", "race:\(Self.run)")])
        // The slow fetch lets go of the URL once its store attempt is over (refused, or, were the rule broken, done);
        // until then a request shares its answer (a MISS that never reaches the origin). Ask until one gets past it.
        var next: HTTP.Answer?
        let past = await eventually(timeout: .seconds(15)) {
            next = try? await HTTP.get(fixture.gateway.baseURL + path)
            return next.map { $0.headers.first(name: "x-cache") != "MISS" } == true || fixture.origin.count(path) >= 2
        }
        #expect(past)
        #expect(next?.headers.first(name: "x-cache") == "MISS", "the answer read before the purge was stored after it")
        #expect(fixture.origin.count(path) == 2)
    }

    @Test("A second gateway process reads the first one's response from L2, and a purge by tag or URL reaches it")
    func secondGateway() async throws {
        let fixture = try await GatewayFixture.shared()
        let other = try await GatewayProcess.plain(upstream: fixture.origin.base)
        defer { Task { try? await other.terminate() } }
        let tagged = "/purge-tag-\(Self.run)"
        let byURL = "/purge-url-\(Self.run)?page=2"
        fixture.origin.set(
            tagged,
            headers: [("Cache-Control", "max-age=600"), ("Cache-Tag", "wedding:\(Self.run), guests")]
        )
        fixture.origin.set(byURL, headers: [("Cache-Control", "max-age=600")])
        for path in [tagged, byURL] {
            #expect(try await HTTP.get(fixture.gateway.baseURL + path).headers.first(name: "x-cache") == "MISS")
            // Stored in L2 first, then in the first gateway's L1, where this sees it.
            #expect(await Self.stored(fixture.gateway.baseURL, path))
            let shared = try await HTTP.get(other.baseURL + path)
            #expect(shared.headers.first(name: "x-cache") == "HIT")
            #expect(shared.headers.first(name: "x-cache-tier") == "L2")
            #expect(try await HTTP.get(other.baseURL + path).headers.first(name: "x-cache-tier") == "L1")
        }
        let refused = try await HTTP.send(
            .POST,
            fixture.gateway.baseURL + "/admin/purge",
            body: "{\"tags\":[\"wedding:\(Self.run)\"]}"
        )
        #expect(refused.status == 401)
        let purge = try await HTTP.send(
            .POST,
            fixture.gateway.baseURL + "/admin/purge",
            headers: GatewayProcess.admin + [("Content-Type", "application/json")],
            body: "{\"tags\":[\"wedding:\(Self.run)\"],\"urls\":[\"\(byURL)\"]}"
        )
        #expect(purge.status == 200, "\(purge.text)")
        #expect(purge.text.contains("\"propagated\":true"))
        for path in [tagged, byURL] {
            let dropped = await eventually(timeout: .seconds(15)) {
                (try? await HTTP.get(other.baseURL + path, headers: [("Cache-Control", "only-if-cached")]).status)
                    == 504
            }
            #expect(dropped, "\(path) still served by the second gateway after the purge")
        }
        let bad = try await HTTP.send(
            .POST,
            fixture.gateway.baseURL + "/admin/purge",
            headers: GatewayProcess.admin + [("Content-Type", "application/json")],
            body: "{\"tags\":[]}"
        )
        #expect(bad.status == 400)
        #expect(bad.text.contains("invalid_body"))
    }

    @Test("stale-if-error: with the origin down (connections refused), the stored response is served stale")
    func originDown() async throws {
        let origin = try await ScriptedOrigin.start(name: "doomed")
        let gateway = try await InProcessGateway.start(upstream: origin.base)
        defer { Task { await gateway.stop() } }
        let path = "/down-\(Self.run)"
        origin.set(path, headers: [("Cache-Control", "max-age=1, stale-if-error=300")])
        #expect(try await HTTP.get(gateway.baseURL + path).headers.first(name: "x-cache") == "MISS")
        #expect(await Self.stored(gateway.baseURL, path))
        await origin.stop()
        gateway.clock.advance(by: 2.2)
        let stale = try await HTTP.get(gateway.baseURL + path)
        #expect(stale.status == 200)
        #expect(stale.headers.first(name: "x-cache") == "STALE")
        let unknown = try await HTTP.get(gateway.baseURL + "/never-\(Self.run)")
        #expect(unknown.status == 502)
        #expect(unknown.text.contains("upstream_unavailable"))
    }
}

/// One scripted origin and one gateway in front of it, shared by the rule tests.
final class GatewayFixture: Sendable {
    let origin: ScriptedOrigin
    let gateway: InProcessGateway

    private init(origin: ScriptedOrigin, gateway: InProcessGateway) {
        self.origin = origin
        self.gateway = gateway
    }

    private static let instance = Mutex<Task<GatewayFixture, any Error>?>(nil)

    static func shared() async throws -> GatewayFixture {
        let task = instance.withLock { task in
            if let task { return task }
            let created = Task {
                let origin = try await ScriptedOrigin.start()
                return GatewayFixture(origin: origin, gateway: try await InProcessGateway.start(upstream: origin.base))
            }
            task = created
            return created
        }
        return try await task.value
    }
}
