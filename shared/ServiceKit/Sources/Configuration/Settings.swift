import Configuration
import Crypto
import Foundation

/// Typed, validated access to configuration keys, shared by the common keys and each service's own.
///
/// Values are looked up in order in the command-line flags (`--a-b`), the environment (`WEDSYNC_A_B`) and the YAML
/// file (`a: {b: ...}`); a value that is present but wrong throws a ``ConfigurationError`` naming the key, rather
/// than being silently replaced by the default.
public struct Settings: Sendable {
    /// The underlying reader, for anything these helpers do not cover.
    public let reader: ConfigReader

    public init(reader: ConfigReader) {
        self.reader = reader
    }

    /// The raw text of a key, or `nil` when no source sets it. Lists (a YAML sequence, `a,b`) come back joined
    /// by commas.
    public func string(_ key: String, secret: Bool = false) -> String? {
        if let value = reader.string(forKey: ConfigKey(key), isSecret: secret) { return value }
        if let values = reader.stringArray(forKey: ConfigKey(key), isSecret: secret) {
            return values.joined(separator: ",")
        }
        if let value = reader.int(forKey: ConfigKey(key)) { return String(value) }
        if let value = reader.double(forKey: ConfigKey(key)) { return String(value) }
        if let value = reader.bool(forKey: ConfigKey(key)) { return String(value) }
        return nil
    }

    /// A string from a fixed set of choices.
    public func choice(_ key: String, from choices: [String], default defaultValue: String) throws(ConfigurationError)
        -> String
    {
        guard let value = string(key)?.lowercased() else { return defaultValue }
        guard choices.contains(value) else {
            throw ConfigurationError(
                key: key,
                message: "expected one of \(choices.joined(separator: ", ")), got \"\(value)\""
            )
        }
        return value
    }

    /// An integer within `range`.
    public func int(_ key: String, default defaultValue: Int, in range: ClosedRange<Int> = Int.min...Int.max)
        throws(ConfigurationError) -> Int
    {
        guard let text = string(key) else { return defaultValue }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw ConfigurationError(key: key, message: "expected an integer, got \"\(text)\"")
        }
        guard range.contains(value) else {
            throw ConfigurationError(
                key: key,
                message: "expected an integer in \(range.lowerBound)...\(range.upperBound), got \(value)"
            )
        }
        return value
    }

    /// A number within `range`.
    public func double(
        _ key: String,
        default defaultValue: Double,
        in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
    ) throws(ConfigurationError) -> Double {
        guard let text = string(key) else { return defaultValue }
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else {
            throw ConfigurationError(key: key, message: "expected a number, got \"\(text)\"")
        }
        guard range.contains(value) else {
            throw ConfigurationError(
                key: key,
                message: "expected a number in \(range.lowerBound)...\(range.upperBound), got \(value)"
            )
        }
        return value
    }

    /// A boolean (`true`/`false`, `1`/`0`, `yes`/`no`).
    public func bool(_ key: String, default defaultValue: Bool) throws(ConfigurationError) -> Bool {
        guard let text = string(key)?.lowercased() else { return defaultValue }
        switch text {
        case "true", "1", "yes", "on", "": return true
        case "false", "0", "no", "off": return false
        default: throw ConfigurationError(key: key, message: "expected true or false, got \"\(text)\"")
        }
    }

    /// A duration given in milliseconds.
    public func milliseconds(_ key: String, default defaultValue: Duration, in range: ClosedRange<Int> = 0...Int.max)
        throws(ConfigurationError) -> Duration
    {
        guard string(key) != nil else { return defaultValue }
        return .milliseconds(try int(key, default: 0, in: range))
    }

    /// A secret (a token, a key): never echoed in errors or logs; at least `minimumLength` characters.
    public func secret(_ key: String, minimumLength: Int = 16) throws(ConfigurationError) -> String? {
        guard let value = string(key, secret: true), !value.isEmpty else { return nil }
        guard value.count >= minimumLength else {
            throw ConfigurationError(
                key: key,
                message: "the secret is too short: use at least \(minimumLength) characters"
            )
        }
        return value
    }

    /// A 256-bit key given as base64 (a secret), for AES-GCM.
    public func symmetricKey(_ key: String) throws(ConfigurationError) -> SymmetricKey? {
        guard let encoded = try secret(key, minimumLength: 40) else { return nil }
        guard let bytes = Data(base64Encoded: encoded), bytes.count == 32 else {
            throw ConfigurationError(key: key, message: "expected the base64 of a 32-byte key")
        }
        return SymmetricKey(data: bytes)
    }

    /// An `http://` or `https://` base URL, without a trailing slash.
    public func httpURL(_ key: String, default defaultValue: String) throws(ConfigurationError) -> String {
        let text = (string(key) ?? defaultValue).trimmingCharacters(in: .whitespaces)
        guard let components = URLComponents(string: text), ["http", "https"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty
        else {
            // The text is not echoed: a malformed URL may still carry credentials.
            throw ConfigurationError(key: key, message: "expected an http:// or https:// URL with a host")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    /// Service names (`wedsync-cache,wedsync-gateway`, comma-separated; empty for none): letters, digits, `-`, `_`.
    public func serviceNames(_ key: String, default defaultValue: [String]) throws(ConfigurationError) -> [String] {
        guard let text = string(key) else { return defaultValue }
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for name in names
        where name.utf8.count > 64 || !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            throw ConfigurationError(key: key, message: "expected service names, comma-separated")
        }
        return names
    }

    /// Origins (`http://host:port`, a YAML list or comma-separated): where a caller-named address may point.
    public func origins(_ key: String, default defaultValue: [String]) throws(ConfigurationError) -> [String] {
        guard let text = string(key) else { return defaultValue.compactMap(AllowedOrigins.origin(of:)) }
        var origins: [String] = []
        for part in text.split(separator: ",") {
            guard let origin = AllowedOrigins.origin(of: part.trimmingCharacters(in: .whitespaces)) else {
                throw ConfigurationError(key: key, message: "expected http://host:port origins, comma-separated")
            }
            origins.append(origin)
        }
        return origins
    }
}
