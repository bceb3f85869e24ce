import Foundation

/// The directives of a `Cache-Control` field (RFC 9111 §5.2), or of a targeted field such as `CDN-Cache-Control`
/// (RFC 9213, same syntax), with the extensions of RFC 5861 (`stale-while-revalidate`, `stale-if-error`).
///
/// Parsing follows the spec's error handling: directive names are case-insensitive; a delta-seconds value above
/// 2^31 counts as 2^31; a directive that appears twice, or an argument that is not a valid delta-seconds, makes
/// the response stale (``isMalformed``), which is the conservative of the two behaviours §4.2.1 allows.
public struct CacheControl: Sendable, Equatable {
    public var maxAge: Int?
    public var sharedMaxAge: Int?
    public var noStore = false
    /// `no-cache`, unqualified: every use needs revalidation.
    public var noCache = false
    /// `no-cache="field, ..."`: those fields may not be sent from the cache without revalidation.
    public var noCacheFields: [String] = []
    /// `private`, unqualified: a shared cache must not store the response.
    public var isPrivate = false
    /// `private="field, ..."`: a shared cache must not store those fields.
    public var privateFields: [String] = []
    public var isPublic = false
    public var mustRevalidate = false
    public var proxyRevalidate = false
    public var mustUnderstand = false
    public var noTransform = false
    public var immutable = false
    public var staleWhileRevalidate: Int?
    public var staleIfError: Int?
    // Request directives.
    public var maxStale: Int?
    /// `max-stale` without a value: any staleness is acceptable.
    public var maxStaleUnlimited = false
    public var minFresh: Int?
    public var onlyIfCached = false
    /// A directive was repeated or had an invalid argument: treat the response as stale.
    public var isMalformed = false

    /// The largest delta-seconds a cache keeps (§1.2.2).
    public static let maximumDeltaSeconds = 2_147_483_648

    public init() {}

    /// Parses every line of the field (`values`, in order, as received).
    public init(_ values: [String]) {
        var seen = Set<String>()
        for value in values {
            for directive in Self.split(value) {
                let (name, argument) = Self.nameAndArgument(directive)
                guard !name.isEmpty else { continue }
                if !seen.insert(name).inserted { isMalformed = true }
                apply(name, argument)
            }
        }
    }

    /// Parses one field value.
    public init(_ value: String) {
        self.init([value])
    }

    private mutating func apply(_ name: String, _ argument: String?) {
        func seconds() -> Int? {
            guard let argument, !argument.isEmpty, argument.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                isMalformed = true
                return nil
            }
            // Digits only: an overflow means "very large", which the spec caps.
            return Int(argument).map { min($0, Self.maximumDeltaSeconds) } ?? Self.maximumDeltaSeconds
        }
        func fields() -> [String] {
            (argument ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter {
                !$0.isEmpty
            }
        }
        switch name {
        case "max-age": maxAge = seconds()
        case "s-maxage": sharedMaxAge = seconds()
        case "no-store": noStore = true
        case "no-cache":
            if argument == nil { noCache = true } else { noCacheFields = fields() }
        case "private":
            if argument == nil { isPrivate = true } else { privateFields = fields() }
        case "public": isPublic = true
        case "must-revalidate": mustRevalidate = true
        case "proxy-revalidate": proxyRevalidate = true
        case "must-understand": mustUnderstand = true
        case "no-transform": noTransform = true
        case "immutable": immutable = true
        case "stale-while-revalidate": staleWhileRevalidate = seconds()
        case "stale-if-error": staleIfError = seconds()
        case "max-stale":
            if argument == nil { maxStaleUnlimited = true } else { maxStale = seconds() }
        case "min-fresh": minFresh = seconds()
        case "only-if-cached": onlyIfCached = true
        default: break  // Unknown extensions are ignored (§5.2.3).
        }
    }

    /// `text` without the spaces and tabs around it (RFC 9110's OWS), without Foundation's character sets (this
    /// runs on every response the cache looks at).
    static func trimmingSpace(_ text: Substring) -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) })
        else { return text[text.endIndex...] }
        return text[first...last]
    }

    /// Splits a field value at commas that are not inside a quoted string.
    static func split(_ value: String) -> [Substring] {
        var parts: [Substring] = []
        var start = value.startIndex
        var quoted = false
        var escaped = false
        for index in value.indices {
            let character = value[index]
            if escaped {
                escaped = false
            } else if quoted, character == "\\" {
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
            } else if character == ",", !quoted {
                parts.append(value[start..<index])
                start = value.index(after: index)
            }
        }
        parts.append(value[start...])
        return parts
    }

    /// `name=argument` or `name="quoted argument"` or `name`, with the name lower-cased.
    static func nameAndArgument(_ directive: Substring) -> (String, String?) {
        let trimmed = trimmingSpace(directive)
        guard let equals = trimmed.firstIndex(of: "=") else { return (trimmed.lowercased(), nil) }
        let name = trimmingSpace(trimmed[..<equals]).lowercased()
        var argument = String(trimmingSpace(trimmed[trimmed.index(after: equals)...]))
        if argument.count >= 2, argument.hasPrefix("\""), argument.hasSuffix("\"") {
            argument = String(argument.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
        }
        return (name, argument)
    }
}
