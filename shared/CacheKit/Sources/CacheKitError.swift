/// Every failure of the cache library. `description` never holds keys or values.
public struct CacheKitError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kinds of failure. A growable set: switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let value: String
        private init(_ value: String) { self.value = value }

        /// A stored record could not be read back (damaged, not ours, wrong key).
        public static let codec = Code("codec")
        /// A key, namespace or tag is not acceptable.
        public static let invalidKey = Code("invalid_key")
        /// The loader failed and there was nothing to fall back on.
        public static let loaderFailed = Code("loader_failed")
        /// The configuration is not valid.
        public static let invalidConfiguration = Code("invalid_configuration")

        public var description: String { value }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "cache \(code): \(message)" }
}
