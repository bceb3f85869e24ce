import CompressNIO
import Foundation
import HTTPTypes
import NIOCore
import WedSyncCompression

/// How an answer the gateway does not store reaches the client: as the upstream coded it; brotli- or
/// gzip-compressed here as it streams (JSON and text, in the coding the client weighs highest); or gunzipped here as
/// it streams (an upstream's gzip, asked for by a cache fill, for a client that does not take gzip). A body of known
/// length under ``ProxyHeaders/compressionThreshold`` is coded whole instead (``UpstreamResponse/passedThrough(to:)``),
/// and sent coded only if that made it smaller.
enum StreamedCoding: Equatable {
    case asIs
    case gzip
    case brotli
    case gunzip

    /// The coding for an answer with `status` and `fields` to a request with `method` and `acceptEncoding`.
    static func choose(
        method: HTTPRequest.Method,
        acceptEncoding: [String],
        status: Int,
        fields: HTTPFields
    ) -> StreamedCoding {
        // No body, or a body that is a part of another (its Content-Range counts the upstream's bytes).
        if method == .head || status < 200 || status == 204 || status == 206 || status == 304 { return .asIs }
        if fields[.contentRange] != nil { return .asIs }
        let coding = fields[values: .contentEncoding].map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let accept = AcceptEncoding(acceptEncoding)
        if coding == ["gzip"] || coding == ["x-gzip"] { return accept.accepts(.gzip) ? .asIs : .gunzip }
        guard coding.isEmpty || coding == ["identity"],
            ProxyHeaders.isCompressible(fields[.contentType]),
            !CacheControl(fields[values: .cacheControl]).noTransform
        else { return .asIs }
        if fields[.contentLength].flatMap(Int.init) == 0 { return .asIs }
        switch accept.preferred(among: [.brotli, .gzip, .identity]) {
        case .brotli: return .brotli
        case .gzip: return .gzip
        case .identity: return .asIs
        }
    }

    /// Whether this codes the body here (rather than passing it or decoding it).
    var compresses: Bool {
        self == .gzip || self == .brotli
    }

    /// The answer's fields once coded: the length is no longer known, the tag no longer names these bytes, and the
    /// answer now depends on `Accept-Encoding` (RFC 9110 §12.5.5).
    func fields(_ fields: HTTPFields) -> HTTPFields {
        guard self != .asIs else { return fields }
        var fields = fields
        fields[.contentLength] = nil
        fields[.contentEncoding] = compresses ? (self == .gzip ? "gzip" : ContentCoding.brotli.rawValue) : nil
        if let etag = fields[.eTag] { fields[.eTag] = ProxyHeaders.weakened(etag) }
        ProxyHeaders.addVaryAcceptEncoding(&fields)
        return fields
    }
}

/// One answer's gzip or brotli stream, coded chunk by chunk: each chunk's bytes leave with it (a flush), so a
/// client reads a slow stream as it comes.
final class StreamedCoder {
    private let coding: StreamedCoding
    private var compressor: (any NIOCompressor)?
    private var decompressor: (any NIODecompressor)?
    private var brotli: BrotliStream?
    /// A streamed brotli window: 64 KiB. Quality 5 then holds about 0.8 MB per open stream (measured with libbrotli
    /// 1.0.9; 1.7 MB with 256 KiB, more with the default 4 MiB), against gzip's 0.3 MB.
    static let brotliWindow = 16
    private let allocator = ByteBufferAllocator()

    init(_ coding: StreamedCoding) throws {
        self.coding = coding
        switch coding {
        case .gzip:
            let compressor = CompressionAlgorithm.gzip().compressor
            try compressor.startStream()
            self.compressor = compressor
        case .brotli:
            brotli = try BrotliStream(quality: Brotli.fastQuality, window: Self.brotliWindow)
        case .gunzip:
            let decompressor = CompressionAlgorithm.gzip().decompressor
            try decompressor.startStream()
            self.decompressor = decompressor
        case .asIs:
            break
        }
    }

    deinit {
        try? compressor?.finishStream()
        try? decompressor?.finishStream()
    }

    /// `chunk` coded: zero or more buffers to send.
    func code(_ chunk: ByteBuffer) throws -> [ByteBuffer] {
        if let brotli { return try brotli.code(chunk) }
        var input = chunk
        if let compressor { return try deflate(&input, compressor, flush: .sync) }
        if let decompressor { return try inflate(&input, decompressor) }
        return [chunk]
    }

    /// What is left once the upstream's body has ended: the gzip trailer, or brotli's last block.
    func finish() throws -> [ByteBuffer] {
        if let brotli { return try brotli.finish() }
        guard let compressor else { return [] }
        var empty = ByteBuffer()
        return try deflate(&empty, compressor, flush: .finish)
    }

    private func deflate(_ input: inout ByteBuffer, _ compressor: any NIOCompressor, flush: CompressNIOFlush) throws
        -> [ByteBuffer]
    {
        var out: [ByteBuffer] = []
        while true {
            var output = allocator.buffer(capacity: max(512, input.readableBytes / 2 + 64))
            var more = false
            do {
                try compressor.streamDeflate(from: &input, to: &output, flush: flush)
                // zlib filled the buffer: more may be pending.
                more = output.writableBytes == 0 || input.readableBytes > 0
            } catch let error as CompressNIOError where error == .bufferOverflow {
                // `.finish` without room to end, or nothing left to flush.
                more = flush == .finish || input.readableBytes > 0
                if output.readableBytes == 0, !more { break }
            }
            if output.readableBytes > 0 { out.append(output) }
            if !more { break }
        }
        return out
    }

    private func inflate(_ input: inout ByteBuffer, _ decompressor: any NIODecompressor) throws -> [ByteBuffer] {
        var out: [ByteBuffer] = []
        while input.readableBytes > 0 {
            var output = allocator.buffer(capacity: max(4096, input.readableBytes * 4))
            var more = false
            do {
                try decompressor.streamInflate(from: &input, to: &output)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                more = true
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                more = false
            }
            if output.readableBytes > 0 { out.append(output) }
            if !more { break }
        }
        return out
    }
}
