import Foundation

/// Per-user data for a scenario (`--data FILE`): a JSON array of objects, one a user (`wedsync-api load-data` writes
/// one per organization: its token and ids drawn from the seeded database).
///
/// A request names a field as `{{name}}` in its path, a header or its body. A field is a text, a number or a list
/// of them; a list gives each request one of its values, drawn at random, so a user's requests spread over their
/// rows as a supplier's do. In the closed model user `n` is row `n` (modulo the rows), the same supplier for the whole
/// run, as k6's `data[__VU % data.length]`; in the open model each request draws a row.
public struct LoadData: Sendable {
    public enum Value: Sendable, Equatable {
        case one(String)
        case many([String])
    }

    public let rows: [[String: Value]]

    /// A mistake in the data, or a request that names a field the data lacks.
    public struct DataError: Error, CustomStringConvertible, Equatable {
        public var message: String
        public var description: String { message }
    }

    public init(rows: [[String: Value]]) {
        self.rows = rows
    }

    /// Reads the JSON text of a data file.
    public init(json: Data) throws(DataError) {
        let file: [[String: FileValue]]
        do {
            file = try JSONDecoder().decode([[String: FileValue]].self, from: json)
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            throw DataError(message: "\(Self.path(context.codingPath)): \(context.debugDescription)")
        } catch {
            throw DataError(message: "not a JSON array of objects whose fields are texts, numbers or lists of them")
        }
        guard !file.isEmpty else { throw DataError(message: "holds no rows") }
        rows = file.map { $0.mapValues(\.value) }
    }

    /// A field as the file has it: a text or a number, or a non-empty list of them.
    private struct FileValue: Decodable {
        let value: Value

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let list = try? container.decode([Scalar].self) {
                guard !list.isEmpty else {
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "an empty list")
                }
                value = .many(list.map(\.text))
            } else {
                value = .one(try container.decode(Scalar.self).text)
            }
        }
    }

    private struct Scalar: Decodable {
        let text: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int.self) {
                text = String(number)
            } else if let number = try? container.decode(Double.self) {
                text = String(number)
            } else if let string = try? container.decode(String.self) {
                text = string
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "a text or a number")
            }
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }

    /// Checks that every row has every field `templates` name; the error names the request and the field.
    public func check(_ templates: [RequestTemplate]) throws(DataError) {
        for (index, template) in templates.enumerated() {
            for field in Placeholders.fields(in: template) {
                if let row = rows.firstIndex(where: { $0[field] == nil }) {
                    let known = rows[row].keys.sorted().joined(separator: ", ")
                    throw DataError(
                        message:
                            "requests[\(index)] (\(template.name)) names {{\(field)}}, which row \(row) of the data lacks (it has \(known))"
                    )
                }
            }
        }
    }

    /// The value of `field` in row `row`, drawing from a list.
    func value(_ field: String, row: Int, random: inout SplitMix64) -> String {
        switch rows[row % rows.count][field] {
        case .one(let text): return text
        case .many(let list): return list[Int(random.next() % UInt64(list.count))]
        case nil: return ""
        }
    }
}

/// `{{name}}` in a request's text: the fields it names, and the text with them filled in.
enum Placeholders {
    /// The text's pieces: literal runs and field names, in order.
    enum Piece: Sendable, Equatable {
        case literal(String)
        case field(String)
    }

    static func pieces(_ text: String) -> [Piece] {
        var pieces: [Piece] = []
        var rest = text[...]
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            if open.lowerBound > rest.startIndex { pieces.append(.literal(String(rest[..<open.lowerBound]))) }
            pieces.append(.field(String(rest[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespaces)))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { pieces.append(.literal(String(rest))) }
        return pieces
    }

    /// Every field a request names, in its path, headers or body.
    static func fields(in template: RequestTemplate) -> Set<String> {
        let texts = [template.target] + template.headers.map(\.value) + (template.body.map { [$0] } ?? [])
        var fields: Set<String> = []
        for text in texts {
            for case .field(let name) in pieces(text) { fields.insert(name) }
        }
        return fields
    }
}

extension RequestTemplate {
    /// The data fields (`{{name}}`) it names in its path, headers or body.
    public var dataFields: Set<String> { Placeholders.fields(in: self) }
}
