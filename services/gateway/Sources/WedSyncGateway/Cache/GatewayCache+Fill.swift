import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import WedSyncServiceKit

extension GatewayCache {
    /// Fetches the request for the cache (a validation of `conditional` when given): a storable answer is read
    /// whole (up to the store's object limit) and kept compressed; anything else is left to stream. `readAt` is the
    /// invalidation sequence when the lookup before noted it; otherwise it is read beside the upstream request.
    func fetch(
        _ incoming: IncomingRequest,
        route: GatewayRoute,
        pool: UpstreamPool,
        conditional: StoredResponse?,
        readAt noted: UInt64? = nil
    ) async -> (FetchOutcome, Duration?) {
        var exchange = ProxyExchange()
        let requestedAt = clock.now
        var validators: [(String, String)] = []
        if let conditional {
            if let etag = conditional.validator ?? conditional.header(.eTag) {
                validators.append(("if-none-match", etag))
            }
            if let modified = conditional.header(.lastModified) { validators.append(("if-modified-since", modified)) }
        }
        func send() async throws(ServiceError) -> UpstreamResponse {
            try await forwarder.send(
                incoming,
                to: pool,
                route: route,
                method: .GET,
                dropConditionals: true,
                acceptGzip: true,
                extraHeaders: validators,
                exchange: &exchange
            )
        }
        // Noted before the upstream is asked (by the lookup, or here in parallel with the request): what it answers
        // is stored only if none of its tags was invalidated meanwhile.
        let upstream: UpstreamResponse
        let sequence: UInt64?
        if let noted {
            do {
                upstream = try await send()
            } catch {
                return (.failed(error), exchange.upstream)
            }
            sequence = noted
        } else {
            async let readAt = store.invalidationSequence()
            do {
                upstream = try await send()
            } catch {
                _ = await readAt
                return (.failed(error), exchange.upstream)
            }
            sequence = await readAt
        }
        let receivedAt = clock.now
        var fields = upstream.headers
        if fields[.date] == nil { fields[.date] = HTTPDate.format(receivedAt) }

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
        let decision = policy.decide(
            method: .get,
            request: incoming.request.headers,
            status: upstream.status,
            response: fields,
            receivedAt: receivedAt
        )
        guard case .store(var freshness) = decision, fields[.setCookie] == nil,
            let varyNames = ResponseCache.varyNames(fields[values: .vary])
        else {
            return (.own(upstream, prefix: [], rest: nil), exchange.upstream)
        }
        Self.extend(&freshness, for: incoming)
        if let declared = fields[.contentLength].flatMap(Int.init), declared > store.maximumObjectBytes {
            return (.own(upstream, prefix: [], rest: nil), exchange.upstream)
        }
        var iterator = upstream.streamedBody.makeAsyncIterator()
        var body = ByteBuffer()
        do {
            while let chunk = try await iterator.next() {
                if body.readableBytes + chunk.readableBytes > store.maximumObjectBytes {
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
            directives: policy.directives(of: fields),
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
        with fields: HTTPFields,
        incoming: IncomingRequest,
        requestedAt: Date,
        receivedAt: Date
    ) -> FetchOutcome {
        let fields = fields.filter { $0.name != .setCookie }
        let kept: Set<HTTPField.Name> = [.contentLength, .contentEncoding, .transferEncoding]
        let replaced = Set(fields.map(\.name)).subtracting(kept)
        var updated = stored
        // The stored Age described the old copy: the 304 (with its own Age, if any) starts the clock again.
        updated.headers = HTTPFields(
            stored.headers.filter { !replaced.contains($0.name) && $0.name != .age }
                + fields.filter { !kept.contains($0.name) }
        )
        if stored.compressedHere, let etag = fields.first(where: { $0.name == .eTag })?.value {
            updated.validator = etag
            updated.headers[.eTag] = ProxyHeaders.weakened(etag)
        }
        // The 304's Vary is the origin's: the body is still in the coding the gateway negotiates.
        if updated.header(.contentEncoding)?.lowercased() == "gzip" {
            ProxyHeaders.addVaryAcceptEncoding(&updated.headers)
        }
        updated.requestedAt = requestedAt.timeIntervalSince1970
        updated.receivedAt = receivedAt.timeIntervalSince1970
        let decision = policy.decide(
            method: .get,
            request: incoming.request.headers,
            status: stored.status,
            response: updated.headers,
            receivedAt: receivedAt
        )
        guard case .store(var freshness) = decision else { return .notModified(updated, storable: false) }
        Self.extend(&freshness, for: incoming)
        updated.freshness = freshness
        return .notModified(updated, storable: true)
    }

    /// A warming service's request keeps what it stores fresh for at least the lifetime it asked for
    /// (``WarmingIdentity``): a page warmed on Friday evening still answers on Saturday, until a write purges it.
    static func extend(_ freshness: inout SharedCachePolicy.Freshness, for incoming: IncomingRequest) {
        // Only what the origin lets be reused without asking: never a response it wants revalidated every time.
        guard let lifetime = incoming.warmLifetime, !freshness.requiresRevalidation, freshness.lifetime > 0,
            lifetime > freshness.lifetime
        else { return }
        freshness.lifetime = lifetime
        freshness.isHeuristic = false
    }

    /// The response as stored: without the fields `private="..."`/`no-cache="..."` name or its framing, and, when
    /// it is JSON or text the upstream did not code, gzip- and brotli-compressed once at the fast levels
    /// (``StoredCoding``): each coding is kept only when it is smaller than the body, whatever its size.
    static func makeStored(
        status: Int,
        fields: HTTPFields,
        body: ByteBuffer,
        requestedAt: Date,
        receivedAt: Date,
        freshness: SharedCachePolicy.Freshness,
        varyNames: [String],
        directives: CacheControl,
        incoming: IncomingRequest
    ) -> StoredResponse {
        let unshared = Set((directives.privateFields + directives.noCacheFields).map { $0.lowercased() })
        var headers = HTTPFields(
            fields.filter { !unshared.contains($0.name.canonicalName) && $0.name != .contentLength }
        )
        var body = body
        var brotli: ByteBuffer?
        var compressedHere = false
        let validator = headers[.eTag]
        if ProxyHeaders.isCompressible(headers[.contentType]), headers[.contentEncoding] == nil,
            !directives.noTransform, let coded = StoredCoding.code(body, best: false)
        {
            body = coded.gzip
            brotli = coded.brotli
            compressedHere = true
            headers[.contentEncoding] = "gzip"
            if let etag = headers[.eTag] { headers[.eTag] = ProxyHeaders.weakened(etag) }
        }
        // The gateway negotiates the coding only of what it keeps gzipped (its own, or the upstream's it gunzips for
        // identity clients): only those vary by Accept-Encoding; every other origin's Vary is left as it came.
        if headers[.contentEncoding]?.lowercased() == "gzip" { ProxyHeaders.addVaryAcceptEncoding(&headers) }
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
            brotli: brotli,
            validator: compressedHere ? validator : nil
        )
    }
}
