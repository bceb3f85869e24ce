import Foundation
import NIOCore

/// How an export is written: a JSON array, CSV (RFC 4180), NDJSON, or Server-Sent Events with progress.
enum ExportFormat: String, CaseIterable, Sendable {
    case json, csv, ndjson, sse

    var contentType: String {
        switch self {
        case .json: "application/json; charset=utf-8"
        case .csv: "text/csv; charset=utf-8"
        case .ndjson: "application/x-ndjson"
        case .sse: "text/event-stream"
        }
    }

    /// `?format=` wins; otherwise the first `Accept` type that names a format; otherwise JSON.
    static func negotiate(format: String?, accept: String?) -> ExportFormat? {
        if let format { return ExportFormat(rawValue: format) }
        guard let accept else { return .json }
        for part in accept.split(separator: ",") {
            let type = part.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased()
            switch type {
            case "text/csv": return .csv
            case "application/x-ndjson", "application/ndjson", "application/jsonl": return .ndjson
            case "text/event-stream": return .sse
            case "application/json", "*/*", "application/*": return .json
            default: continue
            }
        }
        return .json
    }
}

/// The type of an exported column, for JSON (CSV writes every value as text).
enum ExportColumnType: Sendable {
    case number, boolean, text
}

/// Writes export rows, given as PostgreSQL text values, in one ``ExportFormat``.
struct ExportEncoder {
    let format: ExportFormat
    let columns: [(name: String, type: ExportColumnType)]
    /// `{"name":` for the first column, `,"name":` for the others: written once per value, built once.
    private let keys: [String]
    private(set) var rows = 0

    init(format: ExportFormat, columns: [(name: String, type: ExportColumnType)]) {
        self.format = format
        self.columns = columns
        self.keys = columns.enumerated().map { index, column in (index == 0 ? "{\"" : ",\"") + column.name + "\":" }
    }

    /// What comes before the first row.
    func header(into buffer: inout ByteBuffer) {
        switch format {
        case .json: buffer.writeString("[")
        case .csv:
            for (index, column) in columns.enumerated() {
                if index > 0 { buffer.writeString(",") }
                Self.writeCSV(column.name, into: &buffer)
            }
            buffer.writeString("\r\n")
        case .ndjson, .sse: break
        }
    }

    mutating func row(_ values: [String?], into buffer: inout ByteBuffer) {
        switch format {
        case .json:
            if rows > 0 { buffer.writeString(",") }
            writeObject(values, into: &buffer)
        case .ndjson:
            writeObject(values, into: &buffer)
            buffer.writeString("\n")
        case .sse:
            buffer.writeString("event: row\ndata: ")
            writeObject(values, into: &buffer)
            buffer.writeString("\n\n")
        case .csv:
            for (index, value) in values.enumerated() {
                if index > 0 { buffer.writeString(",") }
                if let value {
                    Self.writeCSV(
                        columns[index].type == .boolean ? (value == "t" ? "true" : "false") : value,
                        into: &buffer
                    )
                }
            }
            buffer.writeString("\r\n")
        }
        rows += 1
    }

    /// An SSE progress event (other formats carry none).
    func progress(total: Int?, into buffer: inout ByteBuffer) {
        guard format == .sse else { return }
        buffer.writeString("event: progress\ndata: {\"rows\":\(rows)")
        if let total { buffer.writeString(",\"total\":\(total)") }
        buffer.writeString("}\n\n")
    }

    /// What comes after the last row.
    func footer(into buffer: inout ByteBuffer) {
        switch format {
        case .json: buffer.writeString("]")
        case .sse: buffer.writeString("event: done\ndata: {\"rows\":\(rows)}\n\n")
        case .csv, .ndjson: break
        }
    }

    private func writeObject(_ values: [String?], into buffer: inout ByteBuffer) {
        if values.isEmpty { buffer.writeString("{") }
        for (index, value) in values.enumerated() {
            buffer.writeString(keys[index])
            guard let value else {
                buffer.writeString("null")
                continue
            }
            switch columns[index].type {
            case .number: buffer.writeString(value)
            case .boolean: buffer.writeString(value == "t" ? "true" : "false")
            case .text: Self.writeJSONString(value, into: &buffer)
            }
        }
        buffer.writeString("}")
    }

    static func writeJSONString(_ value: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        // Most values need no escaping: one copy.
        guard value.utf8.contains(where: { $0 < 32 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            buffer.writeString(value)
            buffer.writeInteger(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): buffer.writeString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeString("\\\\")
            case 10: buffer.writeString("\\n")
            case 13: buffer.writeString("\\r")
            case 9: buffer.writeString("\\t")
            case 0..<32:
                let hex = Array("0123456789abcdef".utf8)
                buffer.writeString("\\u00")
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 15)])
            default: buffer.writeInteger(byte)
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// A CSV field: quoted (with doubled quotes) when it holds a comma, a quote or a line break; a leading `=`,
    /// `+`, `-` or `@` is prefixed with `'` so a spreadsheet never runs it as a formula.
    static func writeCSV(_ value: String, into buffer: inout ByteBuffer) {
        var value = value
        if let first = value.utf8.first,
            [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@")].contains(first),
            Double(value) == nil
        {
            value = "'" + value
        }
        let needsQuotes = value.utf8.contains {
            $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13
        }
        guard needsQuotes else {
            buffer.writeString(value)
            return
        }
        buffer.writeInteger(UInt8(ascii: "\""))
        for byte in value.utf8 {
            if byte == UInt8(ascii: "\"") { buffer.writeInteger(byte) }
            buffer.writeInteger(byte)
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}
