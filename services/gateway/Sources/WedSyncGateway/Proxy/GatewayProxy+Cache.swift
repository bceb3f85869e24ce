import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Synchronization
import WedSyncCacheKit
import WedSyncServiceKit

/// What one upstream fetch of a cacheable request produced, shared by every request that waited for it.
enum FetchOutcome: Sendable {
    /// A whole response every waiting request may use (the fetching one stores it when `storable`).
    case shared(StoredResponse, storable: Bool)
    /// The upstream confirmed a stored response (304): it, with its fields and freshness updated.
    case notModified(StoredResponse, storable: Bool)
    /// A response only the fetching request may use: not storable, or too large to keep. Its body may have been
    /// read in part (`prefix`, then the rest through `rest`).
    case own(UpstreamResponse, prefix: [ByteBuffer], rest: BodyRest?)
    case failed(ServiceError)
}

/// The unread rest of an upstream body that was read in part; used by one request only.
final class BodyRest: @unchecked Sendable {
    var iterator: ResponseBodyStream.AsyncIterator

    init(_ iterator: ResponseBodyStream.AsyncIterator) {
        self.iterator = iterator
    }
}

extension GatewayProxy {
    /// How a stored response may answer a request now (§4.2, §4.2.4, RFC 5861).
    enum Usability: Equatable {
        case fresh
        /// Stale, and the request's `max-stale` accepts it.
        case staleAccepted
        /// Stale within `stale-while-revalidate`: served while one background revalidation runs.
        case staleWhileRevalidate
        /// Must be validated with the upstream first.
        case validate
    }

    static func usability(of stored: StoredResponse, age: Int, request directives: CacheControl, pragmaNoCache: Bool)
        -> Usability
    {
        let freshness = stored.freshness
        if freshness.requiresRevalidation || directives.noCache || pragmaNoCache { return .validate }
        // `max-age=0` (a reload) always validates: ages are whole seconds, so a response stored a moment ago is 0.
        if let maxAge = directives.maxAge, maxAge == 0 || age > maxAge { return .validate }
        let lifetime = freshness.lifetime
        let (wanted, overflow) = age.addingReportingOverflow(directives.minFresh ?? 0)
        if !overflow, wanted < lifetime { return .fresh }
        // Fresh, but not for as long as the request's min-fresh asks: validate.
        guard age >= lifetime else { return .validate }
        guard !freshness.mustRevalidateWhenStale else { return .validate }
        let staleness = age - lifetime
        if directives.maxStaleUnlimited || directives.maxStale.map({ staleness <= $0 }) == true {
            return .staleAccepted
        }
        if staleness < freshness.staleWhileRevalidate { return .staleWhileRevalidate }
        return .validate
    }

    /// Whether `stored` may stand in for an upstream that failed (RFC 5861 `stale-if-error`).
    static func mayServeOnError(_ stored: StoredResponse, age: Int) -> Bool {
        let freshness = stored.freshness
        guard !freshness.mustRevalidateWhenStale else { return false }
        let lifetime = freshness.requiresRevalidation ? 0 : freshness.lifetime
        return age - lifetime <= freshness.staleIfError && freshness.staleIfError > 0
    }

    static func age(of stored: StoredResponse, now: Date = Date()) -> Int {
        SharedCachePolicy.currentAge(
            age: stored.header("age"),
            date: stored.header("date"),
            requestedAt: Date(timeIntervalSince1970: stored.requestedAt),
            receivedAt: Date(timeIntervalSince1970: stored.receivedAt),
            now: now
        )
    }

    // MARK: The cached path

    func cached(
        _ incoming: IncomingRequest,
        route: GatewayRoute,
        pool: UpstreamPool,
        cache: ResponseCache,
        exchange: inout Exchange
    ) async throws(ServiceError) -> Response {
        let headers = incoming.request.headers
        let directives = CacheControl(headers[values: .cacheControl])
        let pragmaNoCache =
            headers[values: .cacheControl].isEmpty
            && headers[values: HTTPField.Name("Pragma")!].contains { $0.lowercased().contains("no-cache") }
        if directives.noStore {
            exchange.result = "BYPASS"
            let upstream = try await send(
                incoming,
                to: pool,
                route: route,
                dropConditionals: false,
                acceptGzip: false,
                exchange: &exchange
            )
            return Self.passThrough(upstream, method: incoming.request.method)
        }
        let primary = ResponseCache.primaryKey(pool: pool.name, tenant: incoming.cacheScope, target: incoming.target)
        let lookupStarted = ContinuousClock.now
        let found = await cache.lookup(primary, request: incoming.values)
        exchange.cache = ContinuousClock.now - lookupStarted

        if let found {
            let stored = found.response
            let age = Self.age(of: stored)
            switch Self.usability(of: stored, age: age, request: directives, pragmaNoCache: pragmaNoCache) {
            case .fresh:
                exchange.result = "HIT"
                exchange.tier = found.tier
                return serve(stored, to: incoming, result: "HIT", tier: found.tier)
            case .staleAccepted:
                exchange.result = "STALE"
                exchange.tier = found.tier
                return serve(stored, to: incoming, result: "STALE", tier: found.tier)
            case .staleWhileRevalidate:
                exchange.result = "STALE"
                exchange.tier = found.tier
                let key = found.key
                Task {
                    _ = await self.flight("\(key)#r", incoming: incoming, primary: primary, cache: cache) { [self] in
                        await self.fetch(incoming, route: route, pool: pool, cache: cache, conditional: stored)
                    }
                }
                return serve(stored, to: incoming, result: "STALE", tier: found.tier)
            case .validate:
                if directives.onlyIfCached {
                    throw ServiceError(
                        .gatewayTimeout,
                        code: "only_if_cached",
                        message: "the stored response needs validation and the request allows only the cache"
                    )
                }
                let (outcome, upstream, leader) = await flight(
                    "\(found.key)#r",
                    incoming: incoming,
                    primary: primary,
                    cache: cache
                ) { [self] in
                    await self.fetch(incoming, route: route, pool: pool, cache: cache, conditional: stored)
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
                case .own(let response, _, _)
                where leader && response.status >= 500 && Self.mayServeOnError(stored, age: Self.age(of: stored)):
                    exchange.result = "STALE"
                    return serve(stored, to: incoming, result: "STALE", tier: found.tier)
                case .failed where Self.mayServeOnError(stored, age: Self.age(of: stored)):
                    exchange.result = "STALE"
                    return serve(stored, to: incoming, result: "STALE", tier: found.tier)
                case .failed(let error):
                    throw error
                case .own(let response, let prefix, let rest) where leader:
                    exchange.result = "MISS"
                    return Self.ownResponse(response, prefix: prefix, rest: rest, method: incoming.request.method)
                case .own, .shared:
                    exchange.result = "MISS"
                    return try await direct(incoming, route: route, pool: pool, exchange: &exchange)
                }
            }
        }

        if directives.onlyIfCached {
            throw ServiceError(
                .gatewayTimeout,
                code: "only_if_cached",
                message: "nothing stored answers the request and it allows only the cache"
            )
        }
        exchange.result = "MISS"
        if incoming.request.method == .head || isUncacheable(primary) {
            return try await direct(incoming, route: route, pool: pool, exchange: &exchange)
        }
        let (outcome, upstream, leader) = await flight(
            "\(primary)#f",
            incoming: incoming,
            primary: primary,
            cache: cache
        ) { [self] in
            // A flight that ended (and stored its answer) between this request's lookup and now: use what it stored
            // (looked up again rather than remembered, so an invalidation since then is honoured).
            if let stored = await cache.lookup(primary, request: incoming.values),
                Self.usability(
                    of: stored.response,
                    age: Self.age(of: stored.response),
                    request: directives,
                    pragmaNoCache: pragmaNoCache
                ) == .fresh
            {
                return (.shared(stored.response, storable: false), nil)
            }
            return await self.fetch(incoming, route: route, pool: pool, cache: cache, conditional: nil)
        }
        exchange.upstream = upstream
        switch outcome {
        case .shared(let response, _)
        where leader || response.varyValues == ResponseCache.varyValues(response.varyNames, in: incoming.values):
            return serve(response, to: incoming, result: "MISS", tier: nil)
        case .own(let response, let prefix, let rest) where leader:
            return Self.ownResponse(response, prefix: prefix, rest: rest, method: incoming.request.method)
        case .failed(let error):
            throw error
        case .shared, .own, .notModified:
            return try await direct(incoming, route: route, pool: pool, exchange: &exchange)
        }
    }

    /// Sends the request upstream on its own (no coalescing, nothing stored), conditionals and all.
    func direct(_ incoming: IncomingRequest, route: GatewayRoute, pool: UpstreamPool, exchange: inout Exchange)
        async throws(ServiceError) -> Response
    {
        let upstream = try await send(
            incoming,
            to: pool,
            route: route,
            dropConditionals: false,
            acceptGzip: false,
            exchange: &exchange
        )
        return Self.passThrough(upstream, method: incoming.request.method)
    }

    func isUncacheable(_ primary: String) -> Bool {
        let now = ContinuousClock.now
        return uncacheable.withLock { memo in
            guard let until = memo[primary] else { return false }
            if until > now { return true }
            memo[primary] = nil
            return false
        }
    }

    /// Runs `work` once for every concurrent request with `key`: the first runs it, the others wait for its
    /// outcome. The first then stores what may be stored, and only then lets the key go, so requests arriving
    /// meanwhile still share the outcome.
    func flight(
        _ key: String,
        incoming: IncomingRequest,
        primary: String,
        cache: ResponseCache,
        work: @escaping @Sendable () async -> (FetchOutcome, Duration?)
    ) async -> (FetchOutcome, Duration?, leader: Bool) {
        var created: Task<FetchOutcome, Never>?
        let upstreamTime = UpstreamTime()
        let task = flights.withLock { flights -> Task<FetchOutcome, Never> in
            if let running = flights[key] { return running }
            let task = Task {
                let (outcome, time) = await work()
                upstreamTime.value = time
                return outcome
            }
            flights[key] = task
            created = task
            return task
        }
        let outcome = await task.value
        guard let created else { return (outcome, nil, false) }
        let release: @Sendable () -> Void = { [self] in
            flights.withLock { flights in if flights[key] == created { flights[key] = nil } }
        }
        switch outcome {
        case .shared(let response, storable: true), .notModified(let response, storable: true):
            let target = incoming.target
            Task {
                await cache.store(response, primaryKey: primary, target: target, request: incoming.values)
                release()
            }
        case .own:
            let until = ContinuousClock.now + Self.uncacheableFor
            uncacheable.withLock { memo in
                if memo.count > 10_000 { memo.removeAll() }
                memo[primary] = until
            }
            release()
        default:
            release()
        }
        return (outcome, upstreamTime.value, true)
    }

    /// Fetches the request for the cache (a validation of `conditional` when given): a storable answer is read
    /// whole (up to the cache's object limit) and kept compressed; anything else is left to stream.
    func fetch(
        _ incoming: IncomingRequest,
        route: GatewayRoute,
        pool: UpstreamPool,
        cache: ResponseCache,
        conditional: StoredResponse?
    ) async -> (FetchOutcome, Duration?) {
        var exchange = Exchange()
        let requestedAt = Date()
        var validators: [(String, String)] = []
        if let conditional {
            if let etag = conditional.validator ?? conditional.header("etag") {
                validators.append(("if-none-match", etag))
            }
            if let modified = conditional.header("last-modified") { validators.append(("if-modified-since", modified)) }
        }
        // Noted before the upstream is asked (in parallel with it): what it answers is stored only if none of its
        // tags was invalidated meanwhile.
        async let readAt = cache.cache.invalidationSequence()
        let upstream: UpstreamResponse
        do {
            upstream = try await send(
                incoming,
                to: pool,
                route: route,
                method: .GET,
                dropConditionals: true,
                acceptGzip: true,
                extraHeaders: validators,
                exchange: &exchange
            )
        } catch {
            _ = await readAt
            return (.failed(error), exchange.upstream)
        }
        let sequence = await readAt
        let receivedAt = Date()
        var fields = ProxyHeaders.endToEnd(upstream.headers)
        if !fields.contains(where: { $0.name == "date" }) { fields.append(("date", HTTPDate.format(receivedAt))) }

        if upstream.status == 304, let conditional {
            _ = try? await upstream.body.collect(upTo: 1 << 16)
            var outcome = revalidated(
                conditional,
                with: fields,
                incoming: incoming,
                requestedAt: requestedAt,
                receivedAt: receivedAt
            )
            if case .notModified(var updated, let storable) = outcome {
                updated.readAt = sequence
                outcome = .notModified(updated, storable: storable)
            }
            return (outcome, exchange.upstream)
        }
        let responseFields = Self.fields(fields)
        let decision = policy.decide(
            method: .get,
            request: incoming.request.headers,
            status: upstream.status,
            response: responseFields,
            receivedAt: receivedAt
        )
        guard case .store(let freshness) = decision, !fields.contains(where: { $0.name == "set-cookie" }),
            let varyNames = ResponseCache.varyNames(fields.filter { $0.name == "vary" }.map(\.value))
        else {
            return (.own(upstream, prefix: [], rest: nil), exchange.upstream)
        }
        if let declared = upstream.headers.first(name: "content-length").flatMap(Int.init),
            declared > cache.maximumObjectBytes
        {
            return (.own(upstream, prefix: [], rest: nil), exchange.upstream)
        }
        var iterator = upstream.streamedBody.makeAsyncIterator()
        var body = ByteBuffer()
        do {
            while let chunk = try await iterator.next() {
                if body.readableBytes + chunk.readableBytes > cache.maximumObjectBytes {
                    return (.own(upstream, prefix: [body, chunk], rest: BodyRest(iterator)), exchange.upstream)
                }
                var chunk = chunk
                body.writeBuffer(&chunk)
            }
        } catch {
            return (
                .failed(
                    ServiceError(.badGateway, code: "upstream_reset", message: "the upstream broke off its response")
                ), exchange.upstream
            )
        }
        var stored = Self.makeStored(
            status: upstream.status,
            fields: fields,
            body: body,
            requestedAt: requestedAt,
            receivedAt: receivedAt,
            freshness: freshness,
            varyNames: varyNames,
            directives: policy.directives(of: responseFields),
            incoming: incoming
        )
        stored.readAt = sequence
        return (.shared(stored, storable: true), exchange.upstream)
    }

    /// §4.3.4: a stored response updated by a 304: its fields replaced by those the 304 carries (but not the
    /// body's framing or coding, and never a `Set-Cookie`: the updated response is shared, by every request waiting
    /// on this revalidation and by the store), its freshness computed again.
    func revalidated(
        _ stored: StoredResponse,
        with fields: [(name: String, value: String)],
        incoming: IncomingRequest,
        requestedAt: Date,
        receivedAt: Date
    ) -> FetchOutcome {
        let fields = fields.filter { $0.name != "set-cookie" }
        let kept: Set<String> = ["content-length", "content-encoding", "transfer-encoding"]
        let replaced = Set(fields.map(\.name)).subtracting(kept)
        var updated = stored
        // The stored Age described the old copy: the 304 (with its own Age, if any) starts the clock again.
        updated.headers =
            stored.headers.filter { !replaced.contains($0.name) && $0.name != "age" }
            + fields.filter { !kept.contains($0.name) }
        if stored.compressedHere, let etag = fields.first(where: { $0.name == "etag" })?.value {
            updated.validator = etag
            updated.headers = updated.headers.map { $0.name == "etag" ? ("etag", ProxyHeaders.weakened(etag)) : $0 }
        }
        updated.requestedAt = requestedAt.timeIntervalSince1970
        updated.receivedAt = receivedAt.timeIntervalSince1970
        let decision = policy.decide(
            method: .get,
            request: incoming.request.headers,
            status: stored.status,
            response: Self.fields(updated.headers),
            receivedAt: receivedAt
        )
        guard case .store(let freshness) = decision else { return .notModified(updated, storable: false) }
        updated.freshness = freshness
        return .notModified(updated, storable: true)
    }

    static func fields(_ fields: [(name: String, value: String)]) -> HTTPFields {
        HTTPFields(
            fields.compactMap { field in HTTPField.Name(field.name).map { HTTPField(name: $0, value: field.value) } }
        )
    }

    /// The response as stored: without the fields `private="..."`/`no-cache="..."` name or its framing, and
    /// gzip-compressed once when it is JSON or text of 1 KB or more that the upstream did not compress.
    static func makeStored(
        status: Int,
        fields: [(name: String, value: String)],
        body: ByteBuffer,
        requestedAt: Date,
        receivedAt: Date,
        freshness: SharedCachePolicy.Freshness,
        varyNames: [String],
        directives: CacheControl,
        incoming: IncomingRequest
    ) -> StoredResponse {
        let unshared = Set((directives.privateFields + directives.noCacheFields).map { $0.lowercased() })
        var headers = fields.filter { !unshared.contains($0.name) && $0.name != "content-length" }
        var body = body
        var compressedHere = false
        var validator = headers.first { $0.name == "etag" }?.value
        let contentType = headers.first { $0.name == "content-type" }?.value
        if ProxyHeaders.isCompressible(contentType) {
            if let index = headers.firstIndex(where: { $0.name == "vary" }) {
                if !headers[index].value.lowercased().contains("accept-encoding") {
                    headers[index].value += ", Accept-Encoding"
                }
            } else {
                headers.append(("vary", "Accept-Encoding"))
            }
            if body.readableBytes >= ProxyHeaders.compressionThreshold,
                !headers.contains(where: { $0.name == "content-encoding" }),
                !directives.noTransform, let compressed = ProxyHeaders.gzip(body),
                compressed.readableBytes < body.readableBytes
            {
                body = compressed
                compressedHere = true
                headers.append(("content-encoding", "gzip"))
                headers = headers.map { $0.name == "etag" ? ("etag", ProxyHeaders.weakened($0.value)) : $0 }
            } else {
                validator = nil
            }
        } else {
            validator = nil
        }
        return StoredResponse(
            status: status,
            headers: headers,
            body: body,
            requestedAt: requestedAt.timeIntervalSince1970,
            receivedAt: receivedAt.timeIntervalSince1970,
            freshness: freshness,
            varyNames: varyNames,
            varyValues: ResponseCache.varyValues(varyNames, in: incoming.values),
            compressedHere: compressedHere,
            validator: compressedHere ? validator : nil
        )
    }

    // MARK: Answering

    /// Answers with a stored response: `304` when the request's validators match it (§4.3.2), the body gunzipped
    /// for a client that does not take gzip, `Age` computed now.
    func serve(_ stored: StoredResponse, to incoming: IncomingRequest, result: String, tier: CacheTier?) -> Response {
        let request = incoming.request
        var fields = HTTPFields()
        fields.reserveCapacity(stored.headers.count + 6)
        let etag = stored.header("etag")
        if stored.status == 200,
            Self.conditionMatches(request.headers, etag: etag, lastModified: stored.header("last-modified"))
        {
            let kept: Set<String> = [
                "etag", "cache-control", "content-location", "date", "expires", "vary", "cdn-cache-control",
                "last-modified",
            ]
            for field in stored.headers where kept.contains(field.name) {
                if let name = HTTPField.Name(field.name) { fields.append(HTTPField(name: name, value: field.value)) }
            }
            fields[.age] = String(Self.age(of: stored))
            fields[GatewayHeaders.cache] = result
            if let tier { fields[GatewayHeaders.cacheTier] = tier.rawValue.uppercased() }
            return Response(status: .notModified, headers: fields, body: ResponseBody())
        }
        var body = stored.body
        let gzipped = stored.header("content-encoding")?.lowercased() == "gzip"
        let decompress = gzipped && !ProxyHeaders.acceptsGzip(request.headers[values: .acceptEncoding])
        var decompressed = false
        if decompress,
            let plain = ProxyHeaders.gunzip(stored.body, maximumSize: max(cache?.maximumObjectBytes ?? 0, 1 << 20) * 16)
        {
            body = plain
            decompressed = true
        }
        for field in stored.headers where field.name != "age" {
            if decompressed, field.name == "content-encoding" { continue }
            guard let name = HTTPField.Name(field.name) else { continue }
            if decompressed, stored.compressedHere, field.name == "etag", let validator = stored.validator {
                fields.append(HTTPField(name: name, value: validator))
            } else if decompressed, field.name == "etag" {
                // The upstream's own gzip, decompressed here: no longer its bytes.
                fields.append(HTTPField(name: name, value: ProxyHeaders.weakened(field.value)))
            } else {
                fields.append(HTTPField(name: name, value: field.value))
            }
        }
        fields[.age] = String(Self.age(of: stored))
        fields[.contentLength] = String(body.readableBytes)
        fields[GatewayHeaders.cache] = result
        if let tier { fields[GatewayHeaders.cacheTier] = tier.rawValue.uppercased() }
        if request.method == .head {
            return Response(status: .init(code: stored.status), headers: fields, body: ResponseBody())
        }
        return Response(status: .init(code: stored.status), headers: fields, body: ResponseBody(byteBuffer: body))
    }

    /// `If-None-Match` against the tag (weak comparison), else `If-Modified-Since` against `Last-Modified`.
    static func conditionMatches(_ headers: HTTPFields, etag: String?, lastModified: String?) -> Bool {
        if let condition = headers[.ifNoneMatch] {
            guard let etag, let tag = EntityTag(parsing: etag[...]) else {
                return condition.trimmingCharacters(in: .whitespaces) == "*"
            }
            return tag.matches(ifNoneMatch: condition)
        }
        if let since = headers[.ifModifiedSince].flatMap(HTTPDate.parse),
            let modified = lastModified.flatMap(HTTPDate.parse)
        {
            return modified <= since
        }
        return false
    }

    /// A response only this request gets: what was read of its body, then the rest as it streams.
    static func ownResponse(
        _ upstream: UpstreamResponse,
        prefix: [ByteBuffer],
        rest: BodyRest?,
        method: HTTPRequest.Method
    ) -> Response {
        guard let rest else { return passThrough(upstream, method: method) }
        var fields = HTTPFields()
        for (name, value) in ProxyHeaders.endToEnd(upstream.headers) {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return Response(
            status: .init(code: upstream.status),
            headers: fields,
            body: ResponseBody { writer in
                for chunk in prefix { try await writer.write(chunk) }
                while let chunk = try await rest.iterator.next() { try await writer.write(chunk) }
                try await writer.finish(nil)
            }
        )
    }
}

/// The upstream time of a flight, set by the task that ran it.
final class UpstreamTime: Sendable {
    private let stored = Mutex<Duration?>(nil)

    var value: Duration? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}
