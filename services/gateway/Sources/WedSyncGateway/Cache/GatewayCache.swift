import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix
import WedSyncCacheKit
import WedSyncServiceKit

/// The gateway's cache path, one owner from lookup to answer: a cacheable request is answered from the store
/// (``ResponseCache``) when a stored response may be used (§4.2), validated with the upstream when it must be
/// (§4.3), or fetched once for every concurrent request (``FetchFlights``). What may be stored is stored after the
/// answer is sent, and stale responses are refreshed, as ``BackgroundWork`` the gateway awaits at shutdown.
public final class GatewayCache: Sendable {
    public let store: ResponseCache
    public let policy: SharedCachePolicy
    /// Stores, stale refreshes: started by requests, finished after them.
    public let background: BackgroundWork
    /// Stored bodies recoded at the best levels (``recode(_:primaryKey:target:request:)``), one at a time.
    public let recoding: BackgroundWork
    let forwarder: UpstreamForwarder
    let flights: FetchFlights
    let clock: any WallClock

    init(
        store: ResponseCache,
        policy: SharedCachePolicy,
        forwarder: UpstreamForwarder,
        background: BackgroundWork,
        recoding: BackgroundWork,
        clock: any WallClock
    ) {
        self.store = store
        self.policy = policy
        self.forwarder = forwarder
        self.background = background
        self.recoding = recoding
        self.clock = clock
        self.flights = FetchFlights(clock: clock)
    }

    /// Returns once no store or refresh is queued or running and no fetch holds its key: what the requests answered
    /// so far left in the cache is there to be looked up.
    public func settled() async {
        await background.idle()
        await recoding.idle()
    }

    /// Drops every stored variant of each target and everything tagged with `tags`, in every gateway.
    @discardableResult
    func invalidate(targets: [String] = [], tags: [String] = []) async -> Bool {
        await store.invalidate(targets: targets, tags: tags)
    }

    // MARK: The cached path

    /// Request fields whose answer belongs to that request alone.
    static let ownAnswerFields: [HTTPField.Name] = [.ifMatch, .ifUnmodifiedSince, .ifRange]

    /// Answers a `GET` or `HEAD` of a cacheable route.
    func respond(
        _ incoming: IncomingRequest,
        route: GatewayRoute,
        pool: UpstreamPool,
        exchange: inout ProxyExchange
    ) async throws(ServiceError) -> Response {
        let headers = incoming.request.headers
        let directives = CacheControl(headers[values: .cacheControl])
        let pragmaNoCache =
            headers[values: .cacheControl].isEmpty
            && headers[values: .pragma].contains { $0.lowercased().contains("no-cache") }
        // A precondition makes the answer this request's own (412): it goes upstream as sent, never shared or stored.
        if directives.noStore || Self.ownAnswerFields.contains(where: { headers[$0] != nil }) {
            exchange.result = "BYPASS"
            return try await direct(incoming, route: route, pool: pool, exchange: &exchange)
        }
        // A range is cut from a stored response that may be served as it is (RFC 9110 §14.2); one that is not
        // stored, or must be validated first, goes upstream as sent, and nothing it brings is stored (§3.4).
        let ranged = incoming.request.method == .get && headers[.range] != nil
        let primary = ResponseCache.primaryKey(pool: pool.name, tenant: incoming.cacheScope, target: incoming.target)
        let lookupStarted = ContinuousClock.now
        let sequence = MultiTierCache.SequenceNote()
        let found = await store.find(primary, request: incoming.values, sequence: sequence)
        exchange.cache = ContinuousClock.now - lookupStarted

        if let found {
            let stored = found.response
            switch Self.usability(of: stored, age: age(of: stored), request: directives, pragmaNoCache: pragmaNoCache) {
            case .fresh:
                exchange.result = "HIT"
                exchange.tier = found.tier
                return serve(stored, to: incoming, result: "HIT", tier: found.tier, rendered: found.rendered)
            case .staleAccepted:
                exchange.result = "STALE"
                exchange.tier = found.tier
                return serve(stored, to: incoming, result: "STALE", tier: found.tier, rendered: found.rendered)
            case .staleWhileRevalidate:
                exchange.result = "STALE"
                exchange.tier = found.tier
                refresh(stored, key: found.key, incoming: incoming, primary: primary, route: route, pool: pool)
                return serve(stored, to: incoming, result: "STALE", tier: found.tier, rendered: found.rendered)
            case .validate where ranged && !directives.onlyIfCached:
                exchange.result = "BYPASS"
                return try await direct(incoming, route: route, pool: pool, exchange: &exchange)
            case .validate where incoming.request.method == .head && !directives.onlyIfCached:
                return try await writeThroughHead(
                    stored,
                    incoming: incoming,
                    primary: primary,
                    route: route,
                    pool: pool,
                    exchange: &exchange
                )
            case .validate:
                return try await validate(
                    stored,
                    found: found,
                    incoming: incoming,
                    primary: primary,
                    directives: directives,
                    route: route,
                    pool: pool,
                    exchange: &exchange
                )
            }
        }

        if directives.onlyIfCached {
            throw ServiceError(
                .gatewayTimeout,
                code: "only_if_cached",
                message: "nothing stored answers the request and it allows only the cache"
            )
        }
        if ranged {
            exchange.result = "BYPASS"
            return try await direct(incoming, route: route, pool: pool, exchange: &exchange)
        }
        exchange.result = "MISS"
        if incoming.request.method == .head || flights.isUncacheable(primary) {
            return try await direct(incoming, route: route, pool: pool, exchange: &exchange)
        }
        // Noted by the lookup, before the upstream is asked: what it answers is stored only if none of its tags was
        // invalidated since.
        let readAt = sequence.value
        let (outcome, upstream, leader) = await flight("\(primary)#f", incoming: incoming, primary: primary) {
            [self] in
            // A flight of this process that ended (and stored its answer) between this request's lookup and now:
            // use what it stored (looked up again rather than remembered, so an invalidation since then is
            // honoured). L1 holds what this process stored; L2 was asked a moment ago.
            if let stored = await store.find(primary, request: incoming.values, inL1Only: true),
                Self.usability(
                    of: stored.response,
                    age: age(of: stored.response),
                    request: directives,
                    pragmaNoCache: pragmaNoCache
                ) == .fresh
            {
                return (.shared(stored.response, storable: false), nil)
            }
            return await fetch(incoming, route: route, pool: pool, conditional: nil, readAt: readAt)
        }
        exchange.upstream = upstream
        switch outcome {
        case .shared(let response, _)
        where leader || response.varyValues == ResponseCache.varyValues(response.varyNames, in: incoming.values):
            return serve(response, to: incoming, result: "MISS", tier: nil)
        case .own(let response, let prefix, let rest) where leader:
            return await response.passedThrough(to: incoming.request, prefix: prefix, rest: rest)
        case .failed(let error):
            throw error
        case .shared, .own, .notModified:
            return try await direct(incoming, route: route, pool: pool, exchange: &exchange)
        }
    }

    /// A stored response that must be validated first (§4.3.1): one conditional request for every waiting request;
    /// the stored response stands in when the upstream fails and `stale-if-error` allows it.
    private func validate(
        _ stored: StoredResponse,
        found: ResponseCache.Found,
        incoming: IncomingRequest,
        primary: String,
        directives: CacheControl,
        route: GatewayRoute,
        pool: UpstreamPool,
        exchange: inout ProxyExchange
    ) async throws(ServiceError) -> Response {
        if directives.onlyIfCached {
            throw ServiceError(
                .gatewayTimeout,
                code: "only_if_cached",
                message: "the stored response needs validation and the request allows only the cache"
            )
        }
        let (outcome, upstream, leader) = await flight("\(found.key)#r", incoming: incoming, primary: primary) {
            [self] in
            await fetch(incoming, route: route, pool: pool, conditional: stored)
        }
        exchange.upstream = upstream
        switch outcome {
        case .notModified(let updated, _):
            exchange.result = "REVALIDATED"
            return serve(updated, to: incoming, result: "REVALIDATED", tier: nil)
        case .shared(let response, _)
        where response.varyValues == ResponseCache.varyValues(response.varyNames, in: incoming.values):
            exchange.result = "MISS"
            return serve(response, to: incoming, result: "MISS", tier: nil)
        case .own(let response, _, _) where leader && response.status >= 500 && mayServeOnError(stored):
            exchange.result = "STALE"
            return serve(stored, to: incoming, result: "STALE", tier: found.tier, rendered: found.rendered)
        case .failed where mayServeOnError(stored):
            exchange.result = "STALE"
            return serve(stored, to: incoming, result: "STALE", tier: found.tier, rendered: found.rendered)
        case .failed(let error):
            throw error
        case .own(let response, let prefix, let rest) where leader:
            exchange.result = "MISS"
            return await response.passedThrough(to: incoming.request, prefix: prefix, rest: rest)
        case .own, .shared:
            exchange.result = "MISS"
            return try await direct(incoming, route: route, pool: pool, exchange: &exchange)
        }
    }

    /// RFC 5861 `stale-while-revalidate`: one background validation per stored response, whatever the number of
    /// requests served it stale meanwhile.
    private func refresh(
        _ stored: StoredResponse,
        key: String,
        incoming: IncomingRequest,
        primary: String,
        route: GatewayRoute,
        pool: UpstreamPool
    ) {
        let flightKey = "\(key)#r"
        background.submit(key: flightKey) { [self] in
            _ = await flight(flightKey, incoming: incoming, primary: primary) { [self] in
                await fetch(incoming, route: route, pool: pool, conditional: stored)
            }
        }
    }

    /// Queues `response`'s recode at the best levels (``recode(_:primaryKey:target:request:)``), once per key at a
    /// time, when it is the gateway's own coding, not already at its best, and was read at a known invalidation
    /// sequence (without one, as in a gateway without Redis, a purge meanwhile could not be told apart).
    func scheduleRecode(_ response: StoredResponse, primaryKey: String, incoming: IncomingRequest) {
        guard response.compressedHere, !response.codedAtBest, response.readAt != nil else { return }
        let target = incoming.target
        recoding.submit(key: primaryKey) { [self] in
            await recode(response, primaryKey: primaryKey, target: target, request: incoming.values)
        }
    }

    /// Stores `response` again with its codings made at the best levels (``StoredCoding/recoded(_:maximumPlainBytes:)``),
    /// on a thread of NIO's pool, never an event loop: brotli's best takes tens of milliseconds for a screen. It is
    /// written only if this process's L1 still holds this very response (the same receipt and validator: a newer
    /// fill or a revalidation wins; an entry L1 let go is left as it is), and with the invalidation sequence the
    /// response was read at, so a purge since wins too.
    func recode(_ response: StoredResponse, primaryKey: String, target: String, request: (String) -> [String]) async {
        let maximum = store.maximumPlainBytes
        let recoded = try? await NIOThreadPool.singleton.runIfActive {
            StoredCoding.recoded(response, maximumPlainBytes: maximum)
        }
        guard let recoded,
            let current = store.heldInL1(response, primaryKey: primaryKey),
            current.receivedAt == response.receivedAt, current.requestedAt == response.requestedAt,
            current.validator == response.validator, current.header(.eTag) == response.header(.eTag),
            !current.codedAtBest
        else { return }
        await store.store(recoded, primaryKey: primaryKey, target: target, request: request)
    }

    /// Sends the request upstream on its own (no coalescing, nothing stored), conditionals and all.
    func direct(_ incoming: IncomingRequest, route: GatewayRoute, pool: UpstreamPool, exchange: inout ProxyExchange)
        async throws(ServiceError) -> Response
    {
        try await forwarder.forward(incoming, to: pool, route: route, exchange: &exchange)
            .passedThrough(to: incoming.request)
    }

    /// Runs `work` once for every concurrent request with `key` (``FetchFlights``). The request that ran it then
    /// has what may be stored stored in the background, and lets the key go only once it is, so requests arriving
    /// meanwhile still share the outcome; an answer that cannot be stored marks the key hit-for-miss.
    func flight(
        _ key: String,
        incoming: IncomingRequest,
        primary: String,
        work: @escaping @Sendable () async -> (FetchOutcome, Duration?)
    ) async -> (FetchOutcome, Duration?, leader: Bool) {
        let (outcome, upstream, lead) = await flights.join(key, work: work)
        guard let lead else { return (outcome, upstream, false) }
        switch outcome {
        // (A `where` binds to the pattern before it alone: each pattern states the condition.)
        case .shared(let response, storable: true) where incoming.isWarming,
            .notModified(let response, storable: true) where incoming.isWarming:
            // A warming service's answer means "stored": it is stored before the answer goes.
            let stored = await store.store(
                response,
                primaryKey: primary,
                target: incoming.target,
                request: incoming.values
            )
            flights.release(lead)
            if stored { scheduleRecode(response, primaryKey: primary, incoming: incoming) }
        case .shared(let response, storable: true), .notModified(let response, storable: true):
            let (store, flights, target) = (store, flights, incoming.target)
            // The key is let go on every path: stored, refused (queue full, shutting down) or dropped unstarted.
            let accepted = background.submit(onDrop: { flights.release(lead) }) { [self] in
                let stored = await store.store(response, primaryKey: primary, target: target, request: incoming.values)
                flights.release(lead)
                if stored { scheduleRecode(response, primaryKey: primary, incoming: incoming) }
            }
            if !accepted { flights.release(lead) }
        case .own:
            flights.markUncacheable(primary)
            flights.release(lead)
        default:
            flights.release(lead)
        }
        return (outcome, upstream, true)
    }
}

extension HTTPField.Name {
    static let pragma = HTTPField.Name("Pragma")!
    /// RFC 9213's targeted field for CDNs, which this cache obeys over `Cache-Control`.
    static let cdnCacheControl = HTTPField.Name("CDN-Cache-Control")!
}
