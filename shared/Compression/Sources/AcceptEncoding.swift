/// A request's `Accept-Encoding` (RFC 9110 §12.5.3), read without allocating: each coding's weight in thousandths,
/// from the codings it names, `x-gzip` as gzip, and `*` for any coding it does not name.
///
/// A request without the field takes identity alone here: RFC 9110 lets a server pick any coding then, but a client
/// that sends nothing is usually one that cannot decode.
public struct AcceptEncoding: Sendable, Equatable {
    /// Brotli's weight in thousandths (`br;q=0.8` is 800), or `nil` where the field does not name it.
    public private(set) var brotli: Int?
    /// gzip's weight (`gzip` or `x-gzip`), or `nil` where the field does not name it.
    public private(set) var gzip: Int?
    /// The weight of no coding at all, or `nil` where the field does not name it.
    public private(set) var identity: Int?
    /// The weight of `*`: any coding the field does not name.
    public private(set) var any: Int?

    /// Reads the field's values (all of its lines, in order).
    public init(_ values: [String]) {
        for value in values {
            var utf8 = value.utf8[...]
            while !utf8.isEmpty {
                let end = utf8.firstIndex(of: UInt8(ascii: ",")) ?? utf8.endIndex
                read(element: utf8[utf8.startIndex..<end])
                utf8 = end == utf8.endIndex ? utf8[end...] : utf8[utf8.index(after: end)...]
            }
        }
    }

    /// The weight the client gives `coding` (thousandths): its own, else `*`'s, else 1 for identity (acceptable
    /// unless refused, §12.5.3, but the last choice: a client that names codings wants them, as every common server
    /// reads it) and 0 for any other.
    public func weight(of coding: ContentCoding) -> Int {
        switch coding {
        case .brotli: brotli ?? any ?? 0
        case .gzip: gzip ?? any ?? 0
        case .identity: identity ?? any ?? 1
        }
    }

    /// Whether the client takes `coding` at all.
    public func accepts(_ coding: ContentCoding) -> Bool {
        weight(of: coding) > 0
    }

    /// The coding to answer with, among those a representation is `available` in: the highest weight, the smaller
    /// body among equal ones. Identity when nothing available is acceptable (a client that refuses identity too
    /// gets it anyway rather than a 406, as common servers do).
    public func preferred(among available: some Sequence<ContentCoding>) -> ContentCoding {
        var best = ContentCoding.identity
        var bestWeight = -1
        for coding in available {
            let weight = weight(of: coding)
            guard weight > 0 else { continue }
            if weight > bestWeight || (weight == bestWeight && coding.preference > best.preference) {
                best = coding
                bestWeight = weight
            }
        }
        return best
    }

    // MARK: Reading

    /// One element, `coding *( OWS ";" OWS parameter )`: its weight is its `q` parameter, 1000 without one. An
    /// element whose weight does not parse is ignored. A coding named twice keeps its higher weight.
    private mutating func read(element: Substring.UTF8View) {
        var rest = element
        func nextPart() -> Substring.UTF8View {
            let end = rest.firstIndex(of: UInt8(ascii: ";")) ?? rest.endIndex
            let part = rest[rest.startIndex..<end]
            rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
            return Self.trimmed(part)
        }
        let name = nextPart()
        guard !name.isEmpty else { return }
        var weight = 1000
        while !rest.isEmpty {
            let parameter = nextPart()
            // `q=0.5`, and as leniently `q = 0.5` (a refusal written with spaces is still a refusal).
            guard let equals = parameter.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = Self.trimmed(parameter[parameter.startIndex..<equals])
            guard name.count == 1, name.first! | 0x20 == UInt8(ascii: "q") else { continue }
            guard let parsed = Self.qvalue(parameter[parameter.index(after: equals)...]) else { return }
            weight = parsed
        }
        func keep(_ slot: inout Int?) { slot = max(slot ?? 0, weight) }
        if Self.equals(name, "br") {
            keep(&brotli)
        } else if Self.equals(name, "gzip") || Self.equals(name, "x-gzip") {
            keep(&gzip)
        } else if Self.equals(name, "identity") {
            keep(&identity)
        } else if name.count == 1, name.first == UInt8(ascii: "*") {
            keep(&any)
        }
    }

    /// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )` in thousandths.
    private static func qvalue(_ text: Substring.UTF8View) -> Int? {
        let text = trimmed(text)
        guard let first = text.first, first == UInt8(ascii: "0") || first == UInt8(ascii: "1") else { return nil }
        var value = Int(first - UInt8(ascii: "0")) * 1000
        var rest = text.dropFirst()
        guard !rest.isEmpty else { return value }
        guard rest.first == UInt8(ascii: "."), rest.count <= 4 else { return nil }
        rest = rest.dropFirst()
        var scale = 100
        for digit in rest {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            value += Int(digit - UInt8(ascii: "0")) * scale
            scale /= 10
        }
        return value <= 1000 ? value : nil
    }

    private static func trimmed(_ text: Substring.UTF8View) -> Substring.UTF8View {
        var text = text
        while let first = text.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { text.removeFirst() }
        while let last = text.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { text.removeLast() }
        return text
    }

    /// Case-insensitive comparison with a lowercase ASCII name.
    private static func equals(_ text: Substring.UTF8View, _ name: StaticString) -> Bool {
        guard text.count == name.utf8CodeUnitCount else { return false }
        return name.withUTF8Buffer { expected in
            zip(text, expected).allSatisfy { $0 | 0x20 == $1 || ($0 == $1) }
        }
    }
}
