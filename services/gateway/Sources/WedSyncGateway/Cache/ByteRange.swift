import Foundation

/// A request's `Range` (RFC 9110 §14.2) against a representation of a known length: the one byte range this cache
/// answers with a `206` from a stored `200`, one it must refuse with a `416`, or a field it ignores (another unit,
/// several ranges, a syntax it does not take), which the full `200` then answers, as §14.2 allows.
enum ByteRange: Equatable {
    case satisfiable(Range<Int>)
    case unsatisfiable
    case ignored

    init(_ field: String, length: Int) {
        let text = field.trimmingCharacters(in: [" ", "\t"])
        guard text.count > 6, text.prefix(6).lowercased() == "bytes=" else {
            self = .ignored
            return
        }
        let spec = text.dropFirst(6).trimmingCharacters(in: [" ", "\t"])
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else {
            self = .ignored
            return
        }
        let first = spec[..<dash]
        let last = spec[spec.index(after: dash)...]
        guard let start = Self.position(first), let end = Self.position(last) else {
            self = .ignored
            return
        }
        switch (start, end) {
        case (nil, nil):
            self = .ignored
        case (nil, let suffix?):
            // `-n`: the last n bytes.
            self = suffix == 0 || length == 0 ? .unsatisfiable : .satisfiable(max(0, length - suffix)..<length)
        case (let start?, nil):
            self = start < length ? .satisfiable(start..<length) : .unsatisfiable
        case (let start?, let end?):
            if end < start {
                self = .ignored
            } else {
                self = start < length ? .satisfiable(start..<(end >= length - 1 ? length : end + 1)) : .unsatisfiable
            }
        }
    }

    /// A position: `nil` inside when empty, `nil` outside when not all digits; a number too large for `Int` is
    /// `Int.max` (past any representation).
    private static func position(_ text: Substring) -> Int?? {
        if text.isEmpty { return .some(nil) }
        guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return .some(Int(text) ?? Int.max)
    }
}
