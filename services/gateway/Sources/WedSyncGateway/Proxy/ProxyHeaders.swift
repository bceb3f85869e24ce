import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import WedSyncCompression
import WedSyncModels

/// Header rules of a proxy (RFC 9110 §7.6.1) and the gateway's content coding.
enum ProxyHeaders {
    /// Fields that belong to one connection and are never forwarded.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade",
    ]

    /// The fields of a message never forwarded: `base` (the hop-by-hop ones, or more) and those its `Connection`
    /// lists. `base` itself, with no new set, when it lists none beyond them, as nearly every message does
    /// (`Connection: keep-alive`).
    static func connectionFields(_ connection: [String], base: Set<String> = hopByHop) -> Set<String> {
        var fields = base
        for value in connection {
            for name in value.split(separator: ",") {
                let name = CacheControl.trimmingSpace(name).lowercased()
                if !name.isEmpty, !fields.contains(name) { fields.insert(name) }
            }
        }
        return fields
    }

    /// The request fields never sent upstream as the client sent them.
    static let ownRequestFields = hopByHop.union(["host", "content-length", tenant, "x-request-id", WarmingHeaders.ttl])

    /// The tenant field: set by the gateway from the token, never taken from a client.
    static let tenant = "x-tenant-id"

    /// The request fields sent upstream: end-to-end fields only, without `Host` (the upstream's own is sent), the
    /// body framing (set from the body) or any `X-Tenant-Id`; with `X-Forwarded-*` (the proto from the request's
    /// `scheme`, the host from `Host` or HTTP/2's `authority`) and the request id added.
    static func upstreamRequestFields(
        _ fields: HTTPFields,
        clientAddress: String?,
        requestID: String,
        dropConditionals: Bool,
        scheme: String? = nil,
        authority: String? = nil
    ) -> HTTPHeaders {
        let drop = connectionFields(fields[values: .connection], base: ownRequestFields)
        var headers = HTTPHeaders()
        headers.reserveCapacity(fields.count + 4)
        var forwardedFor: String?
        for field in fields {
            let name = field.name.canonicalName
            if drop.contains(name) { continue }
            if dropConditionals, name == "if-none-match" || name == "if-modified-since" { continue }
            if name == "x-forwarded-for" {
                forwardedFor = forwardedFor.map { "\($0), \(field.value)" } ?? field.value
                continue
            }
            headers.add(name: field.name.rawName, value: field.value)
        }
        if let clientAddress {
            headers.add(name: "x-forwarded-for", value: forwardedFor.map { "\($0), \(clientAddress)" } ?? clientAddress)
        } else if let forwardedFor {
            headers.add(name: "x-forwarded-for", value: forwardedFor)
        }
        // HTTP/2 names the host in `:authority` rather than a Host field.
        if let host = fields[HTTPField.Name("Host")!] ?? authority {
            headers.add(name: "x-forwarded-host", value: host)
        }
        // The scheme the connection marked (``RouterResponseFraming``): `https` behind the gateway's TLS.
        headers.add(name: "x-forwarded-proto", value: scheme == "https" ? "https" : "http")
        headers.add(name: "x-request-id", value: requestID)
        return headers
    }

    /// The upstream's end-to-end response fields, without those the gateway sets itself: the one representation
    /// the response's fields keep from here on, through the cache's policy, its store and every answer.
    static func endToEnd(_ headers: HTTPHeaders) -> HTTPFields {
        let drop = connectionFields(headers[canonicalForm: "connection"].map(String.init))
        var fields = HTTPFields()
        fields.reserveCapacity(headers.count)
        for (name, value) in headers {
            guard let field = HTTPField.Name(name) else { continue }
            let lower = field.canonicalName
            // The gateway's own fields are its to set: an upstream's x-cache never becomes a metric label.
            if drop.contains(lower) || lower == "x-request-id" || lower == "x-cache" || lower == "x-cache-tier" {
                continue
            }
            fields.append(HTTPField(name: field, value: value))
        }
        return fields
    }

    /// JSON, text, JavaScript, XML and SVG: the bodies gzip shrinks.
    static func isCompressible(_ contentType: String?) -> Bool {
        guard let contentType = contentType?.lowercased() else { return false }
        return contentType.hasPrefix("text/") || contentType.contains("json") || contentType.contains("javascript")
            || contentType.contains("xml") || contentType.hasPrefix("image/svg")
    }

    /// Streamed bodies of a known length under this size are coded whole, and sent coded only if that made them
    /// smaller; longer ones are coded as they stream.
    static let compressionThreshold = 1024

    static func gunzip(_ body: ByteBuffer, maximumSize: Int) -> ByteBuffer? {
        Gzip.decompress(body, maximumSize: maximumSize)
    }

    /// Adds `Accept-Encoding` to `fields`' `Vary` (RFC 9110 §12.5.5) unless it is listed already or `Vary` is `*`:
    /// for a representation whose coding the gateway chose.
    static func addVaryAcceptEncoding(_ fields: inout HTTPFields) {
        let listed = fields[values: .vary].flatMap { $0.split(separator: ",") }.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard !listed.contains("*"), !listed.contains("accept-encoding") else { return }
        fields[.vary] =
            listed.isEmpty ? "Accept-Encoding" : fields[values: .vary].joined(separator: ", ") + ", Accept-Encoding"
    }

    /// A strong tag made weak (the gateway changed the body's coding, so the bytes are no longer the upstream's).
    static func weakened(_ etag: String) -> String {
        etag.hasPrefix("W/") ? etag : "W/" + etag
    }
}
