import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import WedSyncCacheKit
import WedSyncCompression
import WedSyncServiceKit

extension GatewayCache {
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
    func mayServeOnError(_ stored: StoredResponse) -> Bool {
        let freshness = stored.freshness
        guard !freshness.mustRevalidateWhenStale else { return false }
        let lifetime = freshness.requiresRevalidation ? 0 : freshness.lifetime
        return age(of: stored) - lifetime <= freshness.staleIfError && freshness.staleIfError > 0
    }

    /// The stored response's current age (§4.2.3), by the cache's clock.
    func age(of stored: StoredResponse) -> Int {
        SharedCachePolicy.currentAge(
            age: stored.header(.age),
            date: stored.header(.date),
            requestedAt: Date(timeIntervalSince1970: stored.requestedAt),
            receivedAt: Date(timeIntervalSince1970: stored.receivedAt),
            now: clock.now
        )
    }

    /// Answers with a stored response: `304` when the request's validators match it (§4.3.2), in the coding the
    /// client weighs highest (brotli, gzip, or the body gunzipped for a client that takes neither), `Age` computed now.
    /// `rendered`, when L1 had the response, holds every representation ready: nothing is gunzipped per hit.
    func serve(
        _ stored: StoredResponse,
        to incoming: IncomingRequest,
        result: String,
        tier: CacheTier?,
        rendered: RenderedResponse? = nil
    ) -> Response {
        let request = incoming.request
        var fields = HTTPFields()
        fields.reserveCapacity(stored.headers.count + 6)
        if stored.status == 200,
            Self.conditionMatches(
                request.headers,
                etag: stored.header(.eTag),
                lastModified: stored.header(.lastModified)
            )
        {
            for field in stored.headers where Self.notModifiedFields.contains(field.name) { fields.append(field) }
            fields[.age] = String(age(of: stored))
            fields[.originDate] = fields[.date]
            fields[GatewayHeaders.cache] = result
            if let tier { fields[GatewayHeaders.cacheTier] = tier.rawValue.uppercased() }
            return Response(status: .notModified, headers: fields, body: ResponseBody())
        }
        // A byte range is cut from the identity representation (RFC 9110 §14.2 leaves the choice to the server; a
        // range of gzip bytes is of no use to most clients).
        let range = request.method == .get && stored.status == 200 ? request.headers[.range] : nil
        var body: ByteBuffer
        if let rendered {
            let representation =
                range == nil
                ? rendered.representation(for: AcceptEncoding(request.headers[values: .acceptEncoding]))
                : rendered.identity
            fields = representation.fields
            body = representation.body
            if let label = rendered.routeLabel { fields[GatewayHeaders.route] = label }
        } else {
            body = stored.body
            let gzipped = stored.header(.contentEncoding)?.lowercased() == "gzip"
            let accept = AcceptEncoding(request.headers[values: .acceptEncoding])
            let coding =
                range != nil
                ? ContentCoding.identity
                : accept.preferred(among: stored.brotli == nil ? [.gzip, .identity] : [.brotli, .gzip, .identity])
            let decompress = gzipped && coding == .identity
            var decompressed = false
            var brotli = false
            if gzipped, coding == .brotli, let coded = stored.brotli {
                body = coded
                brotli = true
            } else if decompress, let plain = ProxyHeaders.gunzip(stored.body, maximumSize: store.maximumPlainBytes) {
                body = plain
                decompressed = true
            }
            for field in stored.headers where field.name != .age {
                if brotli, field.name == .contentEncoding {
                    fields.append(HTTPField(name: .contentEncoding, value: ContentCoding.brotli.rawValue))
                } else if decompressed, field.name == .contentEncoding {
                    continue
                } else if decompressed, stored.compressedHere, field.name == .eTag, let validator = stored.validator {
                    fields.append(HTTPField(name: .eTag, value: validator))
                } else if decompressed, field.name == .eTag {
                    // The upstream's own gzip, decompressed here: no longer its bytes.
                    fields.append(HTTPField(name: .eTag, value: ProxyHeaders.weakened(field.value)))
                } else {
                    fields.append(field)
                }
            }
            fields[.contentLength] = String(body.readableBytes)
        }
        // RFC 9110 §6.6.1, RFC 9111 §4: the stored Date is forwarded, not replaced by the server's.
        fields[.originDate] = fields[.date]
        fields[.age] = String(age(of: stored))
        fields[GatewayHeaders.cache] = result
        if let tier { fields[GatewayHeaders.cacheTier] = tier.rawValue.uppercased() }
        var status = HTTPResponse.Status(code: stored.status)
        if let range, fields[.contentEncoding] == nil {
            switch ByteRange(range, length: body.readableBytes) {
            case .satisfiable(let bytes):
                fields[.contentRange] = "bytes \(bytes.lowerBound)-\(bytes.upperBound - 1)/\(body.readableBytes)"
                fields[.contentLength] = String(bytes.count)
                body = body.getSlice(at: body.readerIndex + bytes.lowerBound, length: bytes.count) ?? body
                status = .partialContent
            case .unsatisfiable:
                var refusal = GatewayProxy.error(
                    .rangeNotSatisfiable,
                    "range_not_satisfiable",
                    "the range starts past the representation's \(body.readableBytes) bytes",
                    headers: [.contentRange: "bytes */\(body.readableBytes)"]
                )
                for name in [HTTPField.Name.age, GatewayHeaders.cache, GatewayHeaders.cacheTier, GatewayHeaders.route] {
                    if let value = fields[name] { refusal.headers[name] = value }
                }
                return refusal
            case .ignored:
                break
            }
        }
        if request.method == .head {
            return Response(status: status, headers: fields, body: ResponseBody())
        }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: body))
    }

    /// The fields a `304` from the cache carries (RFC 9110 §15.4.5).
    static let notModifiedFields: Set<HTTPField.Name> = [
        .eTag, .cacheControl, .contentLocation, .date, .expires, .vary, .cdnCacheControl, .lastModified,
    ]

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
}
