import Foundation

/// A field of a configuration file that is wrong, by its path (`targets.api.metrics[0].target`).
struct FieldError: Error, CustomStringConvertible {
    var path: String
    var message: String
    var description: String { "\(path): \(message)" }
}

/// Reads one mapping of a YAML document field by field, naming a wrong one by its path, and refuses a field it
/// does not know (a misspelt `stabilisation-seconds` is an error, not a silent default).
struct FieldReader {
    let prefix: String
    private var fields: [String: Any]
    private var read = Set<String>()

    init(_ value: Any?, path: String) throws(FieldError) {
        guard let mapping = value as? [String: Any] else {
            throw FieldError(path: path.isEmpty ? "(top level)" : path, message: "must be a mapping")
        }
        self.prefix = path
        self.fields = mapping
    }

    func path(_ field: String) -> String { prefix.isEmpty ? field : "\(prefix).\(field)" }

    mutating func value(_ field: String) throws(FieldError) -> Any? {
        read.insert(field)
        guard let value = fields[field], !(value is NSNull) else { return nil }
        return value
    }

    func required<T>(_ value: T?, _ field: String) throws(FieldError) -> T {
        guard let value else { throw FieldError(path: path(field), message: "is required") }
        return value
    }

    mutating func string(_ field: String) throws(FieldError) -> String? {
        guard let value = try value(field) else { return nil }
        if let text = value as? String { return text }
        throw FieldError(path: path(field), message: "must be a string")
    }

    mutating func bool(_ field: String) throws(FieldError) -> Bool? {
        guard let value = try value(field) else { return nil }
        if let flag = value as? Bool { return flag }
        throw FieldError(path: path(field), message: "must be true or false")
    }

    mutating func double(_ field: String, in range: ClosedRange<Double>) throws(FieldError) -> Double? {
        guard let value = try value(field) else { return nil }
        let number: Double? = (value as? Int).map(Double.init) ?? (value as? Double)
        guard let number, !(value is Bool) else { throw FieldError(path: path(field), message: "must be a number") }
        guard range.contains(number) else {
            throw FieldError(path: path(field), message: "must be in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    mutating func int(_ field: String, in range: ClosedRange<Int>) throws(FieldError) -> Int? {
        guard let value = try value(field) else { return nil }
        guard let number = value as? Int, !(value is Bool) else {
            throw FieldError(path: path(field), message: "must be a whole number")
        }
        guard range.contains(number) else {
            throw FieldError(path: path(field), message: "must be in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    mutating func seconds(_ field: String, in range: ClosedRange<Int>) throws(FieldError) -> Duration? {
        try int(field, in: range).map { .seconds($0) }
    }

    mutating func minutes(_ field: String, in range: ClosedRange<Int>) throws(FieldError) -> Duration? {
        try int(field, in: range).map { .seconds($0 * 60) }
    }

    mutating func hours(_ field: String, in range: ClosedRange<Int>) throws(FieldError) -> Duration? {
        try int(field, in: range).map { .seconds($0 * 3600) }
    }

    mutating func list(_ field: String) throws(FieldError) -> [Any]? {
        guard let value = try value(field) else { return nil }
        guard let list = value as? [Any] else { throw FieldError(path: path(field), message: "must be a list") }
        return list
    }

    mutating func map(_ field: String) throws(FieldError) -> [String: Any]? {
        guard let value = try value(field) else { return nil }
        guard let mapping = value as? [String: Any] else {
            throw FieldError(path: path(field), message: "must be a mapping")
        }
        return mapping
    }

    /// Refuses the fields nobody read.
    func finish() throws(FieldError) {
        if let unknown = fields.keys.filter({ !read.contains($0) }).sorted().first {
            throw FieldError(path: path(unknown), message: "is not a known field")
        }
    }
}
