import WedSyncModels

/// What a text field of a request may hold, said once for the route's validation and for its OpenAPI document, so
/// the two cannot disagree: a length in Unicode code points (what JSON Schema's `maxLength` counts), no control
/// characters (tabs and line breaks too, unless `multiline`), and for `required` texts at least one character that is
/// not a space. Texts are taken as sent: nothing is trimmed.
public struct TextRule: Sendable {
    public var length: ClosedRange<Int>
    public var multiline: Bool
    /// At least one character other than whitespace.
    public var needsContent: Bool

    public init(_ length: ClosedRange<Int>, multiline: Bool = false, needsContent: Bool = false) {
        self.length = length
        self.multiline = multiline
        self.needsContent = needsContent
    }

    /// A name: 1 to `maximum` code points, one line, not only spaces.
    public static func name(_ maximum: Int = 200) -> TextRule {
        TextRule(1...maximum, needsContent: true)
    }

    /// Free text: up to `maximum` code points, tabs and line breaks allowed.
    public static func freeText(_ maximum: Int) -> TextRule {
        TextRule(0...maximum, multiline: true)
    }

    /// The value if it follows the rule; else a 400 naming `field`.
    @discardableResult
    public func check(_ value: String, _ field: String, code: String = "invalid_body") throws(ServiceError) -> String {
        let count = value.unicodeScalars.count
        guard length.contains(count) else {
            throw ServiceError.badRequest(
                "\(field): \(length.lowerBound) to \(length.upperBound) characters",
                code: code
            )
        }
        guard !value.unicodeScalars.contains(where: { !allows($0) }) else {
            throw ServiceError.badRequest(
                "\(field): no control characters\(multiline ? " but tabs and line breaks" : "")",
                code: code
            )
        }
        guard !needsContent || value.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else {
            throw ServiceError.badRequest("\(field): must not be empty or only spaces", code: code)
        }
        return value
    }

    private func allows(_ scalar: Unicode.Scalar) -> Bool {
        if multiline, scalar == "\t" || scalar == "\n" || scalar == "\r" { return true }
        return scalar.value >= 0x20 && scalar.value != 0x7F
    }

    /// The rule as a JSON Schema string.
    public var schema: JSONSchema {
        .text(length, pattern: pattern)
    }

    /// The regular expression of the allowed characters (ECMA-262, as JSON Schema has it).
    var pattern: String {
        let allowed = multiline ? #"[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]"# : #"[^\u0000-\u001F\u007F]"#
        guard needsContent else { return "^\(allowed)*$" }
        return "^\(allowed)*[^\(Self.controlsAndWhitespace)]\(allowed)*$"
    }

    /// The control characters and Unicode's White_Space characters (what Swift's `isWhitespace` means), spelled
    /// out for a regular expression's character class: ECMA-262's `\s` is another set (it takes U+FEFF, not U+0085).
    static let controlsAndWhitespace =
        #"\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"#
}

/// An email address as the routes take it: `local@domain`, each side without whitespace, control characters or
/// another `@`, at most 254 code points (a mailbox's limit).
public enum EmailRule {
    public static let schema = JSONSchema.text(
        3...254,
        pattern: "^[^@\(TextRule.controlsAndWhitespace)]+@[^@\(TextRule.controlsAndWhitespace)]+$"
    )

    @discardableResult
    public static func check(_ value: String, _ field: String, code: String = "invalid_body") throws(ServiceError)
        -> String
    {
        let parts = value.unicodeScalars.split(separator: "@", omittingEmptySubsequences: false)
        guard value.unicodeScalars.count <= 254, parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
            !value.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F })
        else {
            throw ServiceError.badRequest("\(field): expected an email address (local@domain)", code: code)
        }
        return value
    }
}
