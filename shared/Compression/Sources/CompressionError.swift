/// What went wrong coding or decoding a body.
public enum CompressionError: Error, Equatable {
    /// The bytes are not in the coding, or are cut short.
    case corrupt
    /// The body grows past the bound given (a decompression bomb, or simply too large to hold).
    case tooLarge
    /// The library refused its parameters or its input.
    case encoderFailed
}
