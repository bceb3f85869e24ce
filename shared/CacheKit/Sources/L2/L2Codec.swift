import CompressNIO
import Crypto
import Foundation
import NIOCore

/// Turns a ``CacheEntry`` into the two values L2 keeps (a small metadata record and the data) and back.
///
/// Values above ``compressionThreshold`` bytes are deflated when that saves space. With an ``encryptionKey`` the
/// data is sealed with AES-GCM, authenticated together with the entry's address, so Redis never holds plaintext
/// client data and a value copied under another key fails to open.
public struct L2Codec: Sendable {
    public var compressionThreshold: Int
    public var encryptionKey: SymmetricKey?
    /// The largest value, once inflated, a record may hold: a corrupt or hostile record cannot make us allocate more.
    public var maximumValueBytes: Int

    public init(compressionThreshold: Int = 1024, encryptionKey: SymmetricKey? = nil, maximumValueBytes: Int = 64 << 20)
    {
        self.compressionThreshold = compressionThreshold
        self.encryptionKey = encryptionKey
        self.maximumValueBytes = maximumValueBytes
    }

    private enum Flag {
        static let compressed: UInt8 = 1
        static let encrypted: UInt8 = 2
        static let negative: UInt8 = 4
    }

    private static let magic: UInt8 = 0xC1
    private static let format: UInt8 = 2

    /// The metadata and data records of `entry`, stored at `address`.
    public func encode(_ entry: CacheEntry, address: String) throws -> (metadata: [UInt8], data: [UInt8]) {
        var flags: UInt8 = entry.isNegative ? Flag.negative : 0
        var data = entry.body
        if data.readableBytes >= compressionThreshold {
            var source = data
            let deflated = try source.compress(with: .deflate())
            if deflated.readableBytes < data.readableBytes {
                data = deflated
                flags |= Flag.compressed
            }
        }
        var bytes = Array(data.readableBytesView)
        if let encryptionKey {
            let sealed = try AES.GCM.seal(bytes, using: encryptionKey, authenticating: Array(address.utf8))
            guard let combined = sealed.combined else {
                throw CacheKitError(.codec, "AES-GCM produced no combined box")
            }
            bytes = Array(combined)
            flags |= Flag.encrypted
        }

        var header = ByteBuffer()
        header.writeInteger(Self.magic)
        header.writeInteger(Self.format)
        header.writeInteger(flags)
        for number in [entry.createdAt, entry.ttl, entry.staleGrace, entry.failSafe] {
            header.writeInteger(number.bitPattern)
        }
        header.writeInteger(entry.sequence)
        header.writeInteger(UInt32(clamping: entry.body.readableBytes))
        try header.writeShortString(entry.contentType)
        header.writeInteger(UInt16(clamping: entry.tags.count))
        for (tag, version) in zip(entry.tags, entry.tagVersions) {
            try header.writeShortString(tag)
            header.writeInteger(version)
        }
        return (Array(header.readableBytesView), bytes)
    }

    /// The entry the records at `address` hold, at `version` (the key's version in L2). Throws ``CacheKitError/Code/codec`` when they are not ours, are
    /// damaged, or do not open with our key.
    public func decode(metadata: [UInt8], data: [UInt8], address: String, version: UInt64) throws -> CacheEntry {
        var header = ByteBuffer(bytes: metadata)
        guard header.readInteger(as: UInt8.self) == Self.magic, header.readInteger(as: UInt8.self) == Self.format,
            let flags = header.readInteger(as: UInt8.self),
            let created = header.readInteger(as: UInt64.self), let ttl = header.readInteger(as: UInt64.self),
            let grace = header.readInteger(as: UInt64.self), let failSafe = header.readInteger(as: UInt64.self),
            let sequence = header.readInteger(as: UInt64.self), let size = header.readInteger(as: UInt32.self),
            let contentType = header.readShortString(), let tagCount = header.readInteger(as: UInt16.self)
        else { throw CacheKitError(.codec, "the metadata record is damaged") }
        var tags: [String] = []
        var tagVersions: [UInt64] = []
        for _ in 0..<tagCount {
            guard let tag = header.readShortString(), let tagVersion = header.readInteger(as: UInt64.self) else {
                throw CacheKitError(.codec, "the metadata record's tags are damaged")
            }
            tags.append(tag)
            tagVersions.append(tagVersion)
        }
        guard Int(size) <= maximumValueBytes else { throw CacheKitError(.codec, "the record is larger than allowed") }

        var bytes = data
        if flags & Flag.encrypted != 0 {
            guard let encryptionKey else {
                throw CacheKitError(.codec, "the record is encrypted and no key is configured")
            }
            do {
                let box = try AES.GCM.SealedBox(combined: bytes)
                bytes = Array(try AES.GCM.open(box, using: encryptionKey, authenticating: Array(address.utf8)))
            } catch {
                throw CacheKitError(.codec, "the record does not open with the configured key")
            }
        } else if encryptionKey != nil {
            // A plaintext record where every record is sealed was not written by us: refuse it.
            throw CacheKitError(.codec, "the record is not encrypted")
        }
        var body = ByteBuffer(bytes: bytes)
        if flags & Flag.compressed != 0 {
            do {
                body = try body.decompress(with: .deflate(), maxSize: maximumValueBytes)
            } catch {
                throw CacheKitError(.codec, "the record does not inflate")
            }
        }
        guard body.readableBytes == Int(size) else { throw CacheKitError(.codec, "the record's size does not match") }
        var entry = CacheEntry(
            body: body,
            contentType: contentType,
            tags: tags,
            tagVersions: tagVersions,
            createdAt: Double(bitPattern: created),
            ttl: Double(bitPattern: ttl),
            staleGrace: Double(bitPattern: grace),
            failSafe: Double(bitPattern: failSafe),
            version: version,
            isNegative: flags & Flag.negative != 0
        )
        entry.sequence = sequence
        return entry
    }
}

extension ByteBuffer {
    fileprivate mutating func writeShortString(_ string: String) throws {
        let count = string.utf8.count
        guard count <= UInt16.max else {
            throw CacheKitError(.codec, "a tag or content type is longer than 65,535 bytes")
        }
        writeInteger(UInt16(count))
        writeString(string)
    }

    fileprivate mutating func readShortString() -> String? {
        guard let count = readInteger(as: UInt16.self) else { return nil }
        return readString(length: Int(count))
    }
}
