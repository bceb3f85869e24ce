import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import WedSyncModels
import WedSyncServiceKit

/// How a `GET` response may be cached: privately by the browser (always revalidated, cheap with `ETag`), and by
/// the gateway for `sharedMaxAge` seconds through the RFC 9213 targeted field `CDN-Cache-Control`.
public struct CachePolicy: Sendable {
    public var sharedMaxAge: Int
    public var staleWhileRevalidate: Int
    public var staleIfError: Int

    public init(sharedMaxAge: Int, staleWhileRevalidate: Int = 30, staleIfError: Int = 300) {
        self.sharedMaxAge = sharedMaxAge
        self.staleWhileRevalidate = staleWhileRevalidate
        self.staleIfError = staleIfError
    }

    /// Lists and details: shared for a minute (writes purge them by tag long before).
    public static let standard = CachePolicy(sharedMaxAge: 60)
    /// The dashboard: refreshed in the background, so a short shared life.
    public static let dashboard = CachePolicy(sharedMaxAge: 30, staleWhileRevalidate: 30)

    /// The field every response names in `Vary`: the gateway sets it from the caller's token, so a shared cache
    /// keeps one organization's responses apart from another's.
    public static let tenantHeader = "X-Tenant-Id"

    static let cdnCacheControl = HTTPField.Name("CDN-Cache-Control")!
    static let cacheTag = HTTPField.Name("Cache-Tag")!

    /// The caching headers of a response with `etag` and `tags`, varying by the tenant and by `vary`.
    func headers(etag: EntityTag, tags: [String], vary: [String] = []) -> HTTPFields {
        var headers: HTTPFields = [
            .eTag: etag.description,
            .cacheControl: "private, no-cache",
            .vary: ([Self.tenantHeader] + vary).joined(separator: ", "),
        ]
        // `public`: the request carries the supplier's token, and RFC 9111 §3.5 lets a shared cache store such a
        // response only when told so; `Vary: X-Tenant-Id` (set by the gateway from the token) keeps tenants apart.
        headers[Self.cdnCacheControl] =
            "public, max-age=\(sharedMaxAge), stale-while-revalidate=\(staleWhileRevalidate), stale-if-error=\(staleIfError)"
        if !tags.isEmpty { headers[Self.cacheTag] = tags.joined(separator: ", ") }
        return headers
    }

    /// `value` as JSON with a strong `ETag`, or `304 Not Modified` when the request's `If-None-Match` matches it;
    /// `vary` names the request fields beside the tenant that chose the representation (`Save-Data`).
    public func respond(_ value: some Encodable, tags: [String], request: Request, vary: [String] = []) -> Response {
        let body: Data
        do {
            body = try WedSyncJSON.makeEncoder().encode(value)
        } catch {
            return Response.json(
                ErrorEnvelope(code: "internal_error", message: "the response could not be encoded"),
                status: .internalServerError
            )
        }
        let etag = EntityTag.strong(of: body)
        var headers = headers(etag: etag, tags: tags, vary: vary)
        if let condition = request.headers[.ifNoneMatch], etag.matches(ifNoneMatch: condition) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.contentLength] = String(body.count)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
