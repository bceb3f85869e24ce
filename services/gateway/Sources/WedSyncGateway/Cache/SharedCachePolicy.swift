import Foundation
import HTTPTypes

/// What RFC 9111 lets a shared cache do with a response: store it or not (§3, §3.5), for how long it is fresh
/// (§4.2.1, heuristics §4.2.2), and how long it may be served stale (RFC 5861). A cache that understands a targeted
/// field (RFC 9213, `CDN-Cache-Control` by default) obeys it instead of `Cache-Control` when it is present.
public struct SharedCachePolicy: Sendable {
    /// The targeted field this cache obeys first; `nil` to obey `Cache-Control` only.
    public var targetedField: HTTPField.Name?
    /// Heuristic freshness: this share of the time since `Last-Modified` (§4.2.2 suggests 10%); 0 turns it off.
    public var heuristicShare: Double
    /// The longest heuristic freshness given.
    public var maximumHeuristicSeconds: Int

    /// Status codes that are heuristically cacheable (RFC 9110 §15.1).
    public static let heuristicallyCacheable: Set<Int> = [200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]
    /// The status codes whose caching this cache implements as RFC 9110 defines them (for `must-understand`,
    /// §5.2.2.3): not 206 or 416 (no range handling), 412 (a failed precondition is the request's), 304 (an update).
    public static let understoodStatuses: Set<Int> = [
        200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409,
        410, 411, 413, 414, 415, 417, 421, 422, 426, 500, 501, 502, 503, 504, 505,
    ]

    /// Final statuses never stored: 206 and 416 (this cache does not combine or check ranges), 304 (it updates a
    /// stored response), 412 (the answer to one request's preconditions), and those RFC 6585 §3–6 says must not
    /// be stored (428, 429, 431, 511).
    public static let neverStored: Set<Int> = [206, 304, 412, 416, 428, 429, 431, 511]

    /// Whether a response with `status` may be stored at all (§3): a final status this cache knows how to keep.
    public static func isStorable(status: Int) -> Bool {
        (200...599).contains(status) && !neverStored.contains(status)
    }

    public init(
        targetedField: HTTPField.Name? = HTTPField.Name("CDN-Cache-Control"),
        heuristicShare: Double = 0.1,
        maximumHeuristicSeconds: Int = 86_400
    ) {
        self.targetedField = targetedField
        self.heuristicShare = heuristicShare
        self.maximumHeuristicSeconds = maximumHeuristicSeconds
    }

    /// How a stored response may be used.
    public struct Freshness: Sendable, Equatable {
        /// Seconds it is fresh, from its age 0 (§4.2.1).
        public var lifetime: Int
        /// Whether the lifetime is a heuristic (§4.2.2).
        public var isHeuristic: Bool
        /// Every use needs a successful revalidation first (`no-cache`).
        public var requiresRevalidation: Bool
        /// Once stale, it must not be served without revalidation, whatever a request allows (`must-revalidate`,
        /// `proxy-revalidate`, `s-maxage`).
        public var mustRevalidateWhenStale: Bool
        /// Seconds past freshness it may be served while it is revalidated in the background (RFC 5861).
        public var staleWhileRevalidate: Int
        /// Seconds past freshness it may be served when the origin fails (RFC 5861).
        public var staleIfError: Int

        public init(
            lifetime: Int,
            isHeuristic: Bool,
            requiresRevalidation: Bool,
            mustRevalidateWhenStale: Bool,
            staleWhileRevalidate: Int,
            staleIfError: Int
        ) {
            self.lifetime = lifetime
            self.isHeuristic = isHeuristic
            self.requiresRevalidation = requiresRevalidation
            self.mustRevalidateWhenStale = mustRevalidateWhenStale
            self.staleWhileRevalidate = staleWhileRevalidate
            self.staleIfError = staleIfError
        }
    }

    /// Why a response is not stored.
    public enum Refusal: String, Sendable, Equatable {
        case method, status, noStore = "no-store", isPrivate = "private", authorization, varyStar = "vary-star",
            notCacheable = "not-cacheable"
    }

    public enum Decision: Sendable, Equatable {
        case store(Freshness)
        case doNotStore(Refusal)
    }

    /// The directives that govern this cache for a response: the targeted field when present, else `Cache-Control`.
    public func directives(of response: HTTPFields) -> CacheControl {
        if let targetedField {
            let targeted = response[values: targetedField]
            if !targeted.isEmpty { return CacheControl(targeted) }
        }
        return CacheControl(response[values: .cacheControl])
    }

    /// Whether and how to store `response` (status and fields) answering a `method` request with `request` fields.
    public func decide(
        method: HTTPRequest.Method,
        request: HTTPFields,
        status: Int,
        response: HTTPFields,
        receivedAt: Date = Date()
    ) -> Decision {
        guard method == .get || method == .head else { return .doNotStore(.method) }
        guard Self.isStorable(status: status) else { return .doNotStore(.status) }
        let requestDirectives = CacheControl(request[values: .cacheControl])
        let directives = self.directives(of: response)
        // §5.2.2.3: must-understand stores only what this cache understands, and then overrides no-store.
        if directives.mustUnderstand, !Self.understoodStatuses.contains(status) { return .doNotStore(.status) }
        if requestDirectives.noStore || (directives.noStore && !directives.mustUnderstand) {
            return .doNotStore(.noStore)
        }
        if directives.isPrivate { return .doNotStore(.isPrivate) }
        if request[.authorization] != nil,
            !(directives.isPublic || directives.sharedMaxAge != nil || directives.mustRevalidate)
        {
            return .doNotStore(.authorization)
        }
        if response[values: .vary].contains(where: {
            $0.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == "*" }
        }) {
            return .doNotStore(.varyStar)
        }
        let hasExpires = response[.expires] != nil
        let explicitlyCacheable =
            directives.isPublic || directives.maxAge != nil || directives.sharedMaxAge != nil || hasExpires
        guard explicitlyCacheable || Self.heuristicallyCacheable.contains(status) else {
            return .doNotStore(.notCacheable)
        }
        let (lifetime, heuristic) = freshnessLifetime(
            directives,
            response: response,
            status: status,
            receivedAt: receivedAt
        )
        return .store(
            Freshness(
                lifetime: lifetime,
                isHeuristic: heuristic,
                requiresRevalidation: directives.noCache,
                mustRevalidateWhenStale: directives.mustRevalidate || directives.proxyRevalidate
                    || directives.sharedMaxAge != nil,
                staleWhileRevalidate: directives.staleWhileRevalidate ?? 0,
                staleIfError: directives.staleIfError ?? 0
            )
        )
    }

    /// §4.2.1: `s-maxage`, else `max-age`, else `Expires` minus `Date`, else a heuristic (§4.2.2); a malformed
    /// field makes the response stale at once.
    func freshnessLifetime(_ directives: CacheControl, response: HTTPFields, status: Int, receivedAt: Date) -> (
        Int, Bool
    ) {
        if directives.isMalformed { return (0, false) }
        if let shared = directives.sharedMaxAge { return (shared, false) }
        if let maxAge = directives.maxAge { return (maxAge, false) }
        let date = response[.date].flatMap(HTTPDate.parse) ?? receivedAt
        let expiresValues = response[values: .expires]
        if !expiresValues.isEmpty {
            // Several Expires lines, or one that is not a date (often "0" or "-1"): already expired.
            guard expiresValues.count == 1, let expires = HTTPDate.parse(expiresValues[0]) else { return (0, false) }
            return (max(0, Int(expires.timeIntervalSince(date))), false)
        }
        if heuristicShare > 0, Self.heuristicallyCacheable.contains(status),
            let modified = response[.lastModified].flatMap(HTTPDate.parse)
        {
            let heuristic = Int(date.timeIntervalSince(modified) * heuristicShare)
            return (min(maximumHeuristicSeconds, max(0, heuristic)), true)
        }
        return (0, true)
    }

    /// §4.2.3: the current age of a stored response, from its `Age` and `Date` fields, when the request was sent
    /// (`requestedAt`) and the response received (`receivedAt`), at `now`. Seconds.
    public static func currentAge(response: HTTPFields, requestedAt: Date, receivedAt: Date, now: Date) -> Int {
        currentAge(
            age: response[.age],
            date: response[.date],
            requestedAt: requestedAt,
            receivedAt: receivedAt,
            now: now
        )
    }

    /// §4.2.3 from the response's `Age` and `Date` values.
    public static func currentAge(age: String?, date: String?, requestedAt: Date, receivedAt: Date, now: Date) -> Int {
        let corrected = correctedInitialAge(age: age, date: date, requestedAt: requestedAt, receivedAt: receivedAt)
        let residentTime = max(0, now.timeIntervalSince(receivedAt))
        return Int(min(Double(CacheControl.maximumDeltaSeconds), corrected + residentTime))
    }

    /// §4.2.3's `corrected_initial_age`: what the response's age was when it was received, in seconds.
    public static func correctedInitialAge(age: String?, date: String?, requestedAt: Date, receivedAt: Date) -> Double {
        // §1.2.2: a delta-seconds beyond 2^31 counts as 2^31 (and the sum below cannot overflow).
        let limit = CacheControl.maximumDeltaSeconds
        let ageValue =
            age.flatMap { text -> Int? in
                let digits = text.trimmingCharacters(in: .whitespaces)
                guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
                return digits.count > 10 ? limit : min(limit, Int(digits) ?? limit)
            } ?? 0
        let dateValue = date.flatMap(HTTPDate.parse) ?? receivedAt
        let apparentAge = max(0, receivedAt.timeIntervalSince(dateValue))
        let responseDelay = max(0, receivedAt.timeIntervalSince(requestedAt))
        let correctedAgeValue = Double(ageValue) + responseDelay
        return max(apparentAge, correctedAgeValue)
    }
}
