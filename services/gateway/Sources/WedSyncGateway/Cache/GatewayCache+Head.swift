import HTTPTypes
import Hummingbird
import WedSyncServiceKit

extension GatewayCache {
    /// §4.3.5: a `HEAD` whose stored `GET` response must be validated first goes upstream as a `HEAD`. Its `200`
    /// updates the stored response (fields and freshness, as a `304` would, §4.3.4) when it describes the same
    /// representation, and makes it unusable when it does not (another validator or length): the next `GET` then
    /// fetches the new one instead of serving the old body under new fields.
    func writeThroughHead(
        _ stored: StoredResponse,
        incoming: IncomingRequest,
        primary: String,
        route: GatewayRoute,
        pool: UpstreamPool,
        exchange: inout ProxyExchange
    ) async throws(ServiceError) -> Response {
        exchange.result = "MISS"
        let requestedAt = clock.now
        // Noted before the upstream is asked, as a fetch does: an invalidation meanwhile wins over this update.
        async let readAt = store.invalidationSequence()
        let upstream: UpstreamResponse
        do {
            upstream = try await forwarder.forward(incoming, to: pool, route: route, exchange: &exchange)
        } catch {
            _ = await readAt
            throw error
        }
        let sequence = await readAt
        guard upstream.status == 200 else { return await upstream.passedThrough(to: incoming.request) }
        let receivedAt = clock.now
        var fields = upstream.headers
        if fields[.date] == nil { fields[.date] = HTTPDate.format(receivedAt) }
        if Self.describesSameRepresentation(stored, head: fields),
            case .notModified(var updated, storable: true) = revalidated(
                stored,
                with: fields,
                incoming: incoming,
                requestedAt: requestedAt,
                receivedAt: receivedAt
            )
        {
            updated.readAt = sequence
            await store.store(updated, primaryKey: primary, target: incoming.target, request: incoming.values)
        } else {
            _ = await invalidate(targets: [incoming.target])
        }
        return await upstream.passedThrough(to: incoming.request)
    }

    /// Whether a `HEAD` response's fields describe the stored response's representation (§4.3.5): the same
    /// `ETag` (the origin's, where this cache compressed the body and weakened it) and `Last-Modified`, and the
    /// same `Content-Length` where both are in the same content coding.
    static func describesSameRepresentation(_ stored: StoredResponse, head fields: HTTPFields) -> Bool {
        guard (stored.validator ?? stored.header(.eTag)) == fields[.eTag],
            stored.header(.lastModified) == fields[.lastModified]
        else { return false }
        guard !stored.compressedHere, let length = fields[.contentLength].flatMap(Int.init),
            stored.header(.contentEncoding)?.lowercased() == fields[.contentEncoding]?.lowercased()
        else { return true }
        return length == stored.body.readableBytes
    }
}
