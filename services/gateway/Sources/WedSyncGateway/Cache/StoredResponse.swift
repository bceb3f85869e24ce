import Foundation
import HTTPTypes
import NIOCore

/// A response as the gateway's cache keeps it: status, end-to-end header fields, body (gzip-compressed once when
/// that pays, with a brotli copy beside it), when it was requested and received (for §4.2.3 age), its freshness, and the request field values
/// its `Vary` names (§4.1). A *variant marker* holds only the `Vary` names: the responses live under keys that add
/// the request's values of those fields.
public struct StoredResponse: Sendable {
    public var status: Int
    /// The end-to-end fields, in the order received.
    public var headers: HTTPFields
    public var body: ByteBuffer
    /// Seconds since 1970.
    public var requestedAt: Double
    public var receivedAt: Double
    public var freshness: SharedCachePolicy.Freshness
    /// The request fields `Vary` names (lowercased, sorted), beyond those the gateway handles itself.
    public var varyNames: [String]
    /// The request's values of ``varyNames`` when this response was stored.
    public var varyValues: [String]
    /// The body is gzip the gateway made (the upstream's own `ETag` is in ``validator``).
    public var compressedHere: Bool
    /// The same body in brotli, made here beside the gzip one (only when ``compressedHere``).
    public var brotli: ByteBuffer?
    /// Both codings were made at their best level (``Brotli/bestQuality``, ``Gzip/bestLevel``), in the background
    /// once the response was first stored at the fast ones.
    public var codedAtBest: Bool
    /// The upstream's `ETag`, sent back upstream in `If-None-Match` when revalidating.
    public var validator: String?
    /// Only the `Vary` names: look again under the variant's key.
    public var isVariantMarker: Bool
    /// The cache's invalidation sequence noted before the upstream was asked (not stored): a response read before an
    /// invalidation of one of its tags is not stored after it.
    public var readAt: UInt64?

    public init(
        status: Int,
        headers: HTTPFields,
        body: ByteBuffer,
        requestedAt: Double,
        receivedAt: Double,
        freshness: SharedCachePolicy.Freshness,
        varyNames: [String] = [],
        varyValues: [String] = [],
        compressedHere: Bool = false,
        brotli: ByteBuffer? = nil,
        codedAtBest: Bool = false,
        validator: String? = nil,
        isVariantMarker: Bool = false
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.requestedAt = requestedAt
        self.receivedAt = receivedAt
        self.freshness = freshness
        self.varyNames = varyNames
        self.varyValues = varyValues
        self.compressedHere = compressedHere
        self.brotli = brotli
        self.codedAtBest = codedAtBest
        self.validator = validator
        self.isVariantMarker = isVariantMarker
    }

    /// The first value of `name`.
    public func header(_ name: HTTPField.Name) -> String? {
        headers[name]
    }

    /// The content type stored in the cache entry for a stored response (the body holds the whole record).
    static let contentType = "application/x-wedsync-http-response"
    /// Version 2 added the brotli body; a version 1 record (written before) still reads, without one.
    static let formatVersion: UInt8 = 2

    // MARK: Encoding

    /// The record: a version byte, then fixed fields, then length-prefixed strings, then the brotli body
    /// (length-prefixed, empty when there is none), then the body.
    func encoded() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(
            capacity: body.readableBytes + (brotli?.readableBytes ?? 0) + 68
                + headers.reduce(0) { $0 + $1.name.rawName.utf8.count + $1.value.utf8.count + 8 }
        )
        buffer.writeInteger(Self.formatVersion)
        var flags: UInt8 = 0
        if freshness.isHeuristic { flags |= 1 }
        if freshness.requiresRevalidation { flags |= 2 }
        if freshness.mustRevalidateWhenStale { flags |= 4 }
        if compressedHere { flags |= 8 }
        if isVariantMarker { flags |= 16 }
        if codedAtBest { flags |= 32 }
        buffer.writeInteger(flags)
        buffer.writeInteger(UInt16(status))
        buffer.writeInteger(requestedAt.bitPattern)
        buffer.writeInteger(receivedAt.bitPattern)
        buffer.writeInteger(Int64(freshness.lifetime))
        buffer.writeInteger(Int64(freshness.staleWhileRevalidate))
        buffer.writeInteger(Int64(freshness.staleIfError))
        Self.write(validator ?? "", to: &buffer)
        for list in [varyNames, varyValues] {
            buffer.writeInteger(UInt16(list.count))
            for item in list { Self.write(item, to: &buffer) }
        }
        buffer.writeInteger(UInt16(headers.count))
        for field in headers {
            Self.write(field.name.rawName, to: &buffer)
            Self.write(field.value, to: &buffer)
        }
        buffer.writeInteger(UInt32(brotli?.readableBytes ?? 0))
        if var brotli { buffer.writeBuffer(&brotli) }
        var body = body
        buffer.writeBuffer(&body)
        return buffer
    }

    /// Decodes a record; `nil` when it is not one this version wrote.
    init?(decoding record: ByteBuffer) {
        var buffer = record
        guard let version: UInt8 = buffer.readInteger(), version == 1 || version == Self.formatVersion,
            let flags: UInt8 = buffer.readInteger(),
            let status: UInt16 = buffer.readInteger(),
            let requested: UInt64 = buffer.readInteger(),
            let received: UInt64 = buffer.readInteger(),
            let lifetime: Int64 = buffer.readInteger(),
            let swr: Int64 = buffer.readInteger(),
            let sie: Int64 = buffer.readInteger(),
            let validator = Self.read(&buffer),
            let names = Self.readList(&buffer),
            let values = Self.readList(&buffer)
        else { return nil }
        guard let headerCount: UInt16 = buffer.readInteger() else { return nil }
        var headers = HTTPFields()
        headers.reserveCapacity(Int(headerCount))
        for _ in 0..<headerCount {
            guard let name = Self.read(&buffer).flatMap({ HTTPField.Name($0) }), let value = Self.read(&buffer) else {
                return nil
            }
            headers.append(HTTPField(name: name, value: value))
        }
        var brotli: ByteBuffer?
        if version >= 2 {
            guard let length: UInt32 = buffer.readInteger(), let bytes = buffer.readSlice(length: Int(length)) else {
                return nil
            }
            brotli = length == 0 ? nil : bytes
        }
        self.init(
            status: Int(status),
            headers: headers,
            body: buffer,
            requestedAt: Double(bitPattern: requested),
            receivedAt: Double(bitPattern: received),
            freshness: .init(
                lifetime: Int(lifetime),
                isHeuristic: flags & 1 != 0,
                requiresRevalidation: flags & 2 != 0,
                mustRevalidateWhenStale: flags & 4 != 0,
                staleWhileRevalidate: Int(swr),
                staleIfError: Int(sie)
            ),
            varyNames: names,
            varyValues: values,
            compressedHere: flags & 8 != 0,
            brotli: brotli,
            codedAtBest: flags & 32 != 0,
            validator: validator.isEmpty ? nil : validator,
            isVariantMarker: flags & 16 != 0
        )
    }

    private static func write(_ string: String, to buffer: inout ByteBuffer) {
        let count = string.utf8.count
        buffer.writeInteger(UInt32(count))
        buffer.writeString(string)
    }

    private static func readList(_ buffer: inout ByteBuffer) -> [String]? {
        guard let count: UInt16 = buffer.readInteger() else { return nil }
        var list: [String] = []
        for _ in 0..<count {
            guard let item = read(&buffer) else { return nil }
            list.append(item)
        }
        return list
    }

    private static func read(_ buffer: inout ByteBuffer) -> String? {
        guard let count: UInt32 = buffer.readInteger() else { return nil }
        return buffer.readString(length: Int(count))
    }
}
