/// A path pattern of the routes file: literal segments, `{name}` (any one segment), `*` (any one segment) and a
/// final `**` (any rest, including nothing). The pattern itself is the route's template in metrics, so no id or
/// name from a path ever becomes a label.
///
/// `/api/clients/{id}` matches `/api/clients/42`; `/api/**` matches `/api`, `/api/` and `/api/clients/42/guests`.
public struct RoutePattern: Sendable, Equatable, CustomStringConvertible {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case any
        case rest
    }

    let segments: [Segment]
    /// The pattern as written.
    public let template: String

    public var description: String { template }

    /// Parses `template`; `nil` when it does not start with `/`, or `**` is not its last segment.
    public init?(_ template: String) {
        guard template.hasPrefix("/") else { return nil }
        var segments: [Segment] = []
        let parts = template.dropFirst().split(separator: "/", omittingEmptySubsequences: true)
        for (index, part) in parts.enumerated() {
            if part == "**" {
                guard index == parts.count - 1 else { return nil }
                segments.append(.rest)
            } else if part == "*" || (part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2) {
                segments.append(.any)
            } else {
                guard !part.contains("{"), !part.contains("}"), !part.contains("*") else { return nil }
                segments.append(.literal(String(part)))
            }
        }
        self.segments = segments
        self.template = template
    }

    /// Whether `path` (without its query) matches, segment by segment, byte for byte.
    public func matches(_ path: Substring) -> Bool {
        let bytes = path.utf8
        let slash = UInt8(ascii: "/")
        var index = bytes.startIndex
        while index < bytes.endIndex, bytes[index] == slash { bytes.formIndex(after: &index) }
        for segment in segments {
            if case .rest = segment { return true }
            guard index < bytes.endIndex else { return false }
            var end = index
            while end < bytes.endIndex, bytes[end] != slash { bytes.formIndex(after: &end) }
            if case .literal(let literal) = segment, !bytes[index..<end].elementsEqual(literal.utf8) { return false }
            index = end
            while index < bytes.endIndex, bytes[index] == slash { bytes.formIndex(after: &index) }
        }
        return index == bytes.endIndex
    }
}
