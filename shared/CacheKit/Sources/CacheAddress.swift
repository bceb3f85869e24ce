/// Where an entry lives: a namespace and a key in it, written `namespace/key` in invalidations and in L2.
public struct CacheAddress: Sendable, Hashable, CustomStringConvertible {
    public let namespace: String
    public let key: String
    /// `namespace/key`.
    public let string: String

    /// The longest key accepted, in UTF-8 bytes.
    public static let maximumKeyBytes = 1024
    /// The gateway's stored responses: tenants' pages, never served by the cache service whatever it is told.
    public static let gatewayNamespace = "gw"

    /// Validates both parts: a namespace of 1 to 64 letters, digits, `-`, `_` or `.`; a key of 1 to 1,024 bytes
    /// without control characters.
    public init(namespace: String, key: String) throws(CacheKitError) {
        guard !namespace.isEmpty, namespace.utf8.count <= 64,
            namespace.utf8.allSatisfy({
                $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
            })
        else {
            throw CacheKitError(.invalidKey, "a namespace is 1 to 64 letters, digits, '-', '_' or '.'")
        }
        guard !key.isEmpty, key.utf8.count <= Self.maximumKeyBytes,
            !key.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F })
        else {
            throw CacheKitError(.invalidKey, "a key is 1 to \(Self.maximumKeyBytes) bytes without control characters")
        }
        self.namespace = namespace
        self.key = key
        self.string = "\(namespace)/\(key)"
    }

    /// Parses `namespace/key`, at the first `/` (a byte, not a character: `/` followed by a combining mark is still
    /// the separator).
    public init(_ address: String) throws(CacheKitError) {
        let parts = address.utf8.split(separator: UInt8(ascii: "/"), maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw CacheKitError(.invalidKey, "an address is namespace/key")
        }
        try self.init(
            namespace: String(decoding: parts[0], as: UTF8.self),
            key: String(decoding: parts[1], as: UTF8.self)
        )
    }

    public var description: String { string }
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
