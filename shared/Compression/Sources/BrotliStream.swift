import CBrotli
import NIOCore

/// One body brotli-compressed as it streams: each chunk's bytes leave with it (a flush), so a client decodes a
/// slow stream as it arrives. Not shared between tasks: one answer owns it.
public final class BrotliStream {
    private let encoder: OpaquePointer
    private let allocator = ByteBufferAllocator()
    private var finished = false

    /// An encoder at `quality` (0-11) with a window of 2^`window` bytes (10-24), tuned for text; out-of-range
    /// values are brought into range.
    public init(quality: Int = Brotli.fastQuality, window: Int = Brotli.defaultWindow) throws(CompressionError) {
        guard let encoder = BrotliEncoderCreateInstance(nil, nil, nil) else { throw .encoderFailed }
        let quality = UInt32(min(max(quality, Int(BROTLI_MIN_QUALITY)), Int(BROTLI_MAX_QUALITY)))
        let window = UInt32(min(max(window, Int(BROTLI_MIN_WINDOW_BITS)), Int(BROTLI_MAX_WINDOW_BITS)))
        guard BrotliEncoderSetParameter(encoder, BROTLI_PARAM_QUALITY, quality) == BROTLI_TRUE,
            BrotliEncoderSetParameter(encoder, BROTLI_PARAM_LGWIN, window) == BROTLI_TRUE,
            BrotliEncoderSetParameter(encoder, BROTLI_PARAM_MODE, BROTLI_MODE_TEXT.rawValue) == BROTLI_TRUE
        else {
            BrotliEncoderDestroyInstance(encoder)
            throw .encoderFailed
        }
        self.encoder = encoder
    }

    deinit {
        BrotliEncoderDestroyInstance(encoder)
    }

    /// `chunk` compressed and flushed: the bytes to send now (possibly none for an empty chunk).
    public func code(_ chunk: ByteBuffer) throws(CompressionError) -> [ByteBuffer] {
        try run(chunk, operation: BROTLI_OPERATION_FLUSH)
    }

    /// The end of the stream: its last bytes.
    public func finish() throws(CompressionError) -> [ByteBuffer] {
        guard !finished else { return [] }
        finished = true
        return try run(ByteBuffer(), operation: BROTLI_OPERATION_FINISH)
    }

    private func run(_ chunk: ByteBuffer, operation: BrotliEncoderOperation) throws(CompressionError) -> [ByteBuffer] {
        var out: [ByteBuffer] = []
        let ok: Bool = chunk.withUnsafeReadableBytes { input in
            var availableIn = input.count
            var nextIn = input.bindMemory(to: UInt8.self).baseAddress
            repeat {
                var output = allocator.buffer(capacity: max(512, availableIn / 2 + 64))
                var ok = true
                let room = output.writableBytes
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { bytes in
                    var availableOut = room
                    var nextOut = bytes.bindMemory(to: UInt8.self).baseAddress
                    ok =
                        BrotliEncoderCompressStream(
                            encoder,
                            operation,
                            &availableIn,
                            &nextIn,
                            &availableOut,
                            &nextOut,
                            nil
                        ) == BROTLI_TRUE
                    return room - availableOut
                }
                guard ok else { return false }
                if output.readableBytes > 0 { out.append(output) }
            } while availableIn > 0 || BrotliEncoderHasMoreOutput(encoder) == BROTLI_TRUE
                || (operation == BROTLI_OPERATION_FINISH && BrotliEncoderIsFinished(encoder) != BROTLI_TRUE)
            return true
        }
        guard ok else { throw .encoderFailed }
        return out
    }
}
