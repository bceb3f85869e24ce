import CompressNIO
import NIOCore

/// gzip (RFC 1952) over zlib: whole bodies, at the level their use allows.
public enum Gzip {
    /// zlib's default: what a response coded while its client waits gets.
    public static let fastLevel = 6
    /// zlib's best: what a stored response is recoded with in the background.
    public static let bestLevel = 9

    /// `bytes` compressed at `level` (1-9); `nil` if zlib fails.
    public static func compress(_ bytes: ByteBuffer, level: Int = fastLevel) -> ByteBuffer? {
        var source = bytes
        let level = Int32(min(max(level, 1), 9))
        return try? source.compress(with: .gzip(configuration: ZlibConfiguration(compressionLevel: level)))
    }

    /// `bytes` decoded, `nil` if they are not gzip or grow past `maximumSize`.
    public static func decompress(_ bytes: ByteBuffer, maximumSize: Int) -> ByteBuffer? {
        var source = bytes
        return try? source.decompress(with: .gzip(), maxSize: maximumSize)
    }
}
