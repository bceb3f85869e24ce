import Crypto
import Foundation
import WedSyncModels

/// An HTTP entity tag (RFC 9110 §8.8.3) and the comparisons conditional requests use.
public struct EntityTag: Sendable, Hashable, CustomStringConvertible {
    /// The opaque value, without quotes.
    public var opaque: String
    public var isWeak: Bool

    public init(opaque: String, isWeak: Bool = false) {
        self.opaque = opaque
        self.isWeak = isWeak
    }

    /// A strong tag of `bytes`: the first 128 bits of their SHA-256, base64url. Equal bodies, equal tags.
    public static func strong(of bytes: some DataProtocol) -> EntityTag {
        let digest = SHA256.hash(data: bytes)
        return EntityTag(opaque: Data(digest.prefix(16)).base64URLEncodedString())
    }

    /// The field value: `"opaque"` or `W/"opaque"`.
    public var description: String { (isWeak ? "W/" : "") + "\"" + opaque + "\"" }

    /// Parses one tag; `nil` when malformed.
    public init?(parsing text: Substring) {
        var text = text.trimmingCharacters(in: .whitespaces)[...]
        var weak = false
        if text.hasPrefix("W/") {
            weak = true
            text = text.dropFirst(2)
        }
        guard text.count >= 2, text.first == "\"", text.last == "\"" else { return nil }
        let opaque = text.dropFirst().dropLast()
        guard !opaque.contains("\"") else { return nil }
        self.init(opaque: String(opaque), isWeak: weak)
    }

    /// Whether an `If-None-Match` field value matches this tag: `*`, or any listed tag by weak comparison
    /// (RFC 9110 §13.1.2). A malformed value matches nothing.
    public func matches(ifNoneMatch field: String) -> Bool {
        let trimmed = field.trimmingCharacters(in: .whitespaces)
        if trimmed == "*" { return true }
        return Self.list(trimmed).contains { $0.opaque == opaque }
    }

    /// Whether an `If-Match` field value matches this tag: `*`, or any listed tag by strong comparison
    /// (RFC 9110 §13.1.1): weak tags never match.
    public func matches(ifMatch field: String) -> Bool {
        let trimmed = field.trimmingCharacters(in: .whitespaces)
        if trimmed == "*" { return true }
        guard !isWeak else { return false }
        return Self.list(trimmed).contains { !$0.isWeak && $0.opaque == opaque }
    }

    /// The tags of a comma-separated list (tags cannot hold commas inside quotes, per the grammar's `etagc`).
    static func list(_ field: String) -> [EntityTag] {
        field.split(separator: ",").compactMap { EntityTag(parsing: $0) }
    }
}
