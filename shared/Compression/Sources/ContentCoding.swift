/// A content coding a response body travels in (RFC 9110 §8.4.1), as the gateway offers them.
public enum ContentCoding: String, Sendable, CaseIterable {
    /// Brotli (RFC 7932): the smallest on text, and what every current browser asks for over HTTPS.
    case brotli = "br"
    /// gzip (RFC 1952): what every client takes.
    case gzip
    /// The body as it is.
    case identity

    /// The `Content-Encoding` value: `nil` for identity, which is never named.
    public var fieldValue: String? {
        self == .identity ? nil : rawValue
    }

    /// Among codings a client weighs the same, the smaller body wins: brotli, then gzip, then identity.
    var preference: Int {
        switch self {
        case .brotli: 2
        case .gzip: 1
        case .identity: 0
        }
    }
}
