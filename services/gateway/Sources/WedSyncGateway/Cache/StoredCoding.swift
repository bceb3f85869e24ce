import NIOCore
import WedSyncCompression

/// The codings a stored body is kept in: gzip (the stored body) and brotli beside it, made at the fast levels while
/// the first client waits, then once more at the best levels in the background (``GatewayCache/recode(_:primaryKey:target:request:)``),
/// so every later hit is as small as the codings make it. A coding is kept only when it is smaller than the body
/// it codes: nothing is sent uncompressed that would shrink, and nothing compressed that grew.
enum StoredCoding {
    /// Bodies up to this size are recoded at the best levels (brotli's best runs at about 1 MB/s: 250 ms of a
    /// background thread at most); larger ones keep their fast coding.
    static let maximumRecodedBytes = 256 * 1024

    /// `body` (identity) in gzip and, when it shrinks too, brotli; `nil` when gzip does not shrink it.
    static func code(_ body: ByteBuffer, best: Bool) -> (gzip: ByteBuffer, brotli: ByteBuffer?)? {
        guard body.readableBytes > 0,
            let gzip = Gzip.compress(body, level: best ? Gzip.bestLevel : Gzip.fastLevel),
            gzip.readableBytes < body.readableBytes
        else { return nil }
        let brotli = Brotli.compress(body, quality: best ? Brotli.bestQuality : Brotli.fastQuality)
        return (gzip, brotli.flatMap { $0.readableBytes < body.readableBytes ? $0 : nil })
    }

    /// `stored` with its codings made again at the best levels; `nil` when it is not the gateway's own coding,
    /// is already at its best, is too large to recode, or its body does not decode.
    static func recoded(_ stored: StoredResponse, maximumPlainBytes: Int) -> StoredResponse? {
        guard stored.compressedHere, !stored.codedAtBest, !stored.isVariantMarker,
            let plain = Gzip.decompress(stored.body, maximumSize: min(maximumPlainBytes, maximumRecodedBytes)),
            let coded = code(plain, best: true)
        else { return nil }
        var recoded = stored
        // The fast coding may have been the smaller one (it rarely is): each coding keeps its smaller body.
        if coded.gzip.readableBytes < stored.body.readableBytes { recoded.body = coded.gzip }
        if let brotli = coded.brotli, brotli.readableBytes < (stored.brotli?.readableBytes ?? .max) {
            recoded.brotli = brotli
        }
        recoded.codedAtBest = true
        return recoded
    }
}
