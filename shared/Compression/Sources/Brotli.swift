import CBrotli
import NIOCore

/// Brotli (RFC 7932) over the system's libbrotli: whole bodies, compressed once and kept (a stored response), or
/// decoded with a bound on what they may grow to.
public enum Brotli {
    /// The fastest quality whose output still beats gzip's on JSON: what a response coded while its client waits
    /// gets (about 0.6 ms for 30 KB here).
    public static let fastQuality = 5
    /// The highest quality: 15-25% below gzip's best on JSON, at about 1 MB/s, so only ever in the background.
    public static let bestQuality = 11
    /// The default window: 4 MiB, more than any body the gateway stores.
    public static let defaultWindow = 22

    /// `bytes` compressed at `quality` (0-11) with a window of 2^`window` bytes (10-24); `nil` if the library fails.
    /// `text` tunes the encoder for UTF-8 text (JSON, HTML), which it nearly always is here.
    public static func compress(
        _ bytes: ByteBuffer,
        quality: Int = bestQuality,
        window: Int = defaultWindow,
        text: Bool = true
    ) -> ByteBuffer? {
        let quality = Int32(min(max(quality, Int(BROTLI_MIN_QUALITY)), Int(BROTLI_MAX_QUALITY)))
        let window = Int32(min(max(window, Int(BROTLI_MIN_WINDOW_BITS)), Int(BROTLI_MAX_WINDOW_BITS)))
        let bound = BrotliEncoderMaxCompressedSize(bytes.readableBytes)
        guard bound > 0 else { return nil }
        var output = ByteBufferAllocator().buffer(capacity: bound)
        let succeeded = bytes.withUnsafeReadableBytes { input in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { out in
                var size = out.count
                let ok = BrotliEncoderCompress(
                    quality,
                    window,
                    text ? BROTLI_MODE_TEXT : BROTLI_MODE_GENERIC,
                    input.count,
                    input.bindMemory(to: UInt8.self).baseAddress ?? UnsafePointer(bitPattern: 1)!,
                    &size,
                    out.bindMemory(to: UInt8.self).baseAddress!
                )
                return ok == BROTLI_TRUE ? size : 0
            } > 0
        }
        return succeeded || bytes.readableBytes == 0 ? output : nil
    }

    /// `bytes` decoded, refusing to grow past `maximumSize`. `partial` takes a stream cut short (one still
    /// arriving) as far as it goes, rather than as corrupt.
    public static func decompress(
        _ bytes: ByteBuffer,
        maximumSize: Int,
        partial: Bool = false
    ) throws(CompressionError) -> ByteBuffer {
        let maximumSize = min(max(0, maximumSize), Int.max / 2)
        guard let decoder = BrotliDecoderCreateInstance(nil, nil, nil) else { throw .corrupt }
        defer { BrotliDecoderDestroyInstance(decoder) }
        var output = ByteBufferAllocator().buffer(capacity: min(maximumSize, max(4096, bytes.readableBytes * 8)))
        let result: BrotliDecoderResult = bytes.withUnsafeReadableBytes { input in
            var availableIn = input.count
            var nextIn = input.bindMemory(to: UInt8.self).baseAddress
            while true {
                var result = BROTLI_DECODER_RESULT_ERROR
                let room = min(64 * 1024, maximumSize - output.readableBytes + 1)
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { out in
                    var availableOut = room
                    var nextOut = out.bindMemory(to: UInt8.self).baseAddress
                    result = BrotliDecoderDecompressStream(decoder, &availableIn, &nextIn, &availableOut, &nextOut, nil)
                    return room - availableOut
                }
                if output.readableBytes > maximumSize { return BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT }
                guard result == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT else { return result }
            }
        }
        if output.readableBytes > maximumSize { throw .tooLarge }
        guard result == BROTLI_DECODER_RESULT_SUCCESS || (partial && result == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
        else { throw .corrupt }
        return output
    }
}
