import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import WedSyncCompression
import WedSyncModels
import WedSyncServiceKit

/// A stored response made ready to answer with, once, when L1 first hands it out (``MultiTierCache/peekL1(_:memo:)``
/// keeps it with the entry): decoded, its fields for a brotli, a gzip and an identity client built (the identity
/// body gunzipped here, never per hit), the route label and the age arithmetic of §4.2.3 done up to `now`.
final class RenderedResponse: Sendable {
    /// One representation: its fields (with `Content-Length`, without `Age`), the same as HTTP/1.1 bytes after
    /// its status line (for the event loop's answers, ``GatewayFastPath``), and its body. A class: a hit picks one
    /// of two by reference.
    final class Representation: Sendable {
        let fields: HTTPFields
        let head: ByteBuffer
        let body: ByteBuffer

        init(status: HTTPResponse.Status, fields: HTTPFields, body: ByteBuffer) {
            self.fields = fields
            self.body = body
            var head = ByteBuffer()
            head.reserveCapacity(64 + fields.reduce(0) { $0 + $1.name.rawName.utf8.count + $1.value.utf8.count + 4 })
            let reason = HTTPResponseStatus(statusCode: status.code).reasonPhrase
            head.writeString("HTTP/1.1 \(status.code) \(reason)\r\n")
            for field in fields {
                head.writeString(field.name.rawName)
                head.writeStaticString(": ")
                head.writeString(field.value)
                head.writeStaticString("\r\n")
            }
            self.head = head
        }
    }

    let stored: StoredResponse
    let status: HTTPResponse.Status
    /// The stored gzip body and its fields; `nil` when the body is not gzip.
    let gzip: Representation?
    /// The stored brotli body and its fields; `nil` when the gateway made none.
    let brotli: Representation?
    /// The body as an identity client takes it.
    let identity: Representation
    /// The upstream's own route template, when it named a valid one.
    let routeLabel: String?
    /// Whether the stored response names `Vary` fields (its hits are keyed by them: the full path answers).
    let varies: Bool
    /// ``StoredResponse/freshness``, read on every hit.
    private let lifetime: Int
    private let requiresRevalidation: Bool
    /// What a hit on this response records, worked out by the first hit of each method.
    private let getRecorder = LazyReference<GatewayMetrics.Recorder>()
    private let headRecorder = LazyReference<GatewayMetrics.Recorder>()

    /// Records a hit with `method` that took `nanoseconds` with its recorder, made by `make` (given the route label,
    /// the upstream's template when it named one) the first time.
    func recordHit(method: HTTPRequest.Method, nanoseconds: Int64, make: (String?) -> GatewayMetrics.Recorder) {
        let routeLabel = routeLabel
        if method == .head {
            headRecorder.withValue(orMake: { make(routeLabel) }) { $0.record(nanoseconds: nanoseconds) }
        } else {
            getRecorder.withValue(orMake: { make(routeLabel) }) { $0.record(nanoseconds: nanoseconds) }
        }
    }

    /// §4.2.3's corrected initial age, and when the response was received (seconds since 1970).
    let initialAge: Double
    let receivedAt: Double

    /// Stored records larger than this are not made ready (``ResponseCache/peek(_:)``): their hits take the full path.
    static let maximumStoredBytes = 1 << 20

    /// What this adds in memory to the stored record it was made from: the identity body when it was gunzipped
    /// here, and the fields written out.
    var extraBytes: Int {
        (gzip == nil ? 0 : identity.body.readableBytes) + identity.head.readableBytes
            + (gzip?.head.readableBytes ?? 0) + (brotli?.head.readableBytes ?? 0) + 256
    }

    /// The representation for a client whose `Accept-Encoding` is `accept`: the one it weighs highest among those
    /// held, the smaller among equals.
    func representation(for accept: AcceptEncoding) -> Representation {
        guard let gzip else { return identity }
        switch accept.preferred(among: brotli == nil ? [.gzip, .identity] : [.brotli, .gzip, .identity]) {
        case .brotli: return brotli ?? gzip
        case .gzip: return gzip
        case .identity: return identity
        }
    }

    /// `nil` for a variant marker, and when the body cannot be made ready (a gzip body that does not gunzip).
    init?(_ stored: StoredResponse, maximumBodyBytes: Int) {
        guard !stored.isVariantMarker else { return nil }
        self.stored = stored
        let status = HTTPResponse.Status(code: stored.status)
        self.status = status
        var label: String?
        var common = HTTPFields()
        common.reserveCapacity(stored.headers.count + 8)
        for field in stored.headers {
            switch field.name {
            // The server's own name is the gateway's (as Hummingbird sets it on every other answer).
            case .age, .contentLength, .server: continue
            case GatewayHeaders.route:
                label = field.value
                continue
            default: common.append(field)
            }
        }
        routeLabel = label.flatMap { MetricEventBounds.isValidRoute($0) ? $0 : nil }
        varies = !stored.varyNames.isEmpty
        lifetime = stored.freshness.lifetime
        requiresRevalidation = stored.freshness.requiresRevalidation
        let gzipped = stored.header(.contentEncoding)?.lowercased() == "gzip"
        if gzipped {
            guard let plain = ProxyHeaders.gunzip(stored.body, maximumSize: maximumBodyBytes) else { return nil }
            var fields = common
            fields[.contentLength] = String(stored.body.readableBytes)
            gzip = Representation(status: status, fields: fields, body: stored.body)
            if let coded = stored.brotli, stored.compressedHere {
                fields[.contentEncoding] = ContentCoding.brotli.rawValue
                fields[.contentLength] = String(coded.readableBytes)
                brotli = Representation(status: status, fields: fields, body: coded)
            } else {
                brotli = nil
            }
            var plainFields = HTTPFields()
            plainFields.reserveCapacity(common.count + 8)
            for field in common where field.name != .contentEncoding {
                if field.name == .eTag, stored.compressedHere, let validator = stored.validator {
                    plainFields.append(HTTPField(name: .eTag, value: validator))
                } else if field.name == .eTag {
                    // The upstream's own gzip, decompressed here: no longer its bytes.
                    plainFields.append(HTTPField(name: .eTag, value: ProxyHeaders.weakened(field.value)))
                } else {
                    plainFields.append(field)
                }
            }
            plainFields[.contentLength] = String(plain.readableBytes)
            identity = Representation(status: status, fields: plainFields, body: plain)
        } else {
            var fields = common
            // RFC 9110 §8.6: no Content-Length on a 204 (or a 1xx or 304, never stored).
            if stored.status != 204 { fields[.contentLength] = String(stored.body.readableBytes) }
            gzip = nil
            brotli = nil
            identity = Representation(status: status, fields: fields, body: stored.body)
        }
        let age = SharedCachePolicy.correctedInitialAge(
            age: stored.header(.age),
            date: stored.header(.date),
            requestedAt: Date(timeIntervalSince1970: stored.requestedAt),
            receivedAt: Date(timeIntervalSince1970: stored.receivedAt)
        )
        initialAge = age
        receivedAt = stored.receivedAt
    }

    /// The current age at `now` (seconds since 1970), as ``SharedCachePolicy/currentAge(age:date:requestedAt:receivedAt:now:)``.
    func age(at now: Double) -> Int {
        Int(min(Double(CacheControl.maximumDeltaSeconds), initialAge + max(0, now - receivedAt)))
    }

    /// Fresh for a request that asks nothing of the cache (§4.2): no revalidation required and younger than its
    /// freshness lifetime.
    func isFresh(at now: Double) -> Bool {
        !requiresRevalidation && age(at: now) < lifetime
    }
}
