import Foundation

/// A setting that is missing or wrong, found at startup. Its description names the key and every place it can be
/// set, and never repeats a secret's value.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The dotted key (`database.url`).
    public var key: String
    public var message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String {
        "invalid setting '\(key)' (flag \(Self.flag(for: key)), environment \(Self.environmentVariable(for: key))): \(message)"
    }

    /// `database.replica-urls` → `WEDSYNC_DATABASE_REPLICA_URLS`.
    public static func environmentVariable(for key: String) -> String {
        "WEDSYNC_" + String(key.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// `database.replica-urls` → `--database-replica-urls`.
    public static func flag(for key: String) -> String {
        "--" + key.replacingOccurrences(of: ".", with: "-")
    }
}
