import Testing

@testable import WedSyncGateway

/// RFC 9110 §14.1.2: the byte ranges the cache cuts from a stored 200, the ones it refuses, and the fields it
/// ignores (then answering the whole representation).
@Suite("Gateway: byte ranges of a stored response")
struct ByteRangeTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var field: String
        var length: Int
        var expected: ByteRange
        var testDescription: String { "\(field) of \(length) bytes" }
    }

    static let rows: [Row] = [
        Row(field: "bytes=0-9", length: 100, expected: .satisfiable(0..<10)),
        Row(field: "bytes=90-", length: 100, expected: .satisfiable(90..<100)),
        Row(field: "bytes=-10", length: 100, expected: .satisfiable(90..<100)),
        Row(field: "bytes=-500", length: 100, expected: .satisfiable(0..<100)),
        Row(field: "bytes=50-5000", length: 100, expected: .satisfiable(50..<100)),
        Row(field: "Bytes = 1-1", length: 100, expected: .ignored),
        Row(field: "BYTES=1-1", length: 100, expected: .satisfiable(1..<2)),
        Row(field: "bytes=99-99999999999999999999999", length: 100, expected: .satisfiable(99..<100)),
        Row(field: "bytes=100-", length: 100, expected: .unsatisfiable),
        Row(field: "bytes=99999999999999999999999-", length: 100, expected: .unsatisfiable),
        Row(field: "bytes=-0", length: 100, expected: .unsatisfiable),
        Row(field: "bytes=-1", length: 0, expected: .unsatisfiable),
        Row(field: "bytes=5-1", length: 100, expected: .ignored),
        Row(field: "bytes=0-1,5-6", length: 100, expected: .ignored),
        Row(field: "bytes=-", length: 100, expected: .ignored),
        Row(field: "bytes=a-b", length: 100, expected: .ignored),
        Row(field: "bytes=+1-2", length: 100, expected: .ignored),
        Row(field: "items=0-1", length: 100, expected: .ignored),
        Row(field: "bytes=", length: 100, expected: .ignored),
    ]

    @Test("Each field", arguments: rows)
    func row(_ row: Row) {
        #expect(ByteRange(row.field, length: row.length) == row.expected)
    }
}
