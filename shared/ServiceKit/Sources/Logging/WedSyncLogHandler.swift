import Foundation
import Logging
import Synchronization
import WedSyncModels

/// The log handler of every WedSync service: one line per event on standard output, as text or as a JSON object
/// (`WEDSYNC_LOG_FORMAT=json`), with metadata whose key suggests a secret or personal data redacted.
public struct WedSyncLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    /// The level of this logger: the process-wide level (``LogLevelControl``) unless set on the logger itself.
    public var logLevel: Logger.Level {
        get { overriddenLevel ?? LogLevelControl.level }
        set { overriddenLevel = newValue }
    }
    private var overriddenLevel: Logger.Level?
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: LogFormat
    private let service: String
    private let toStandardError: Bool

    /// Metadata keys whose values are replaced by `[redacted]` (matched case-insensitively, as substrings).
    static let sensitiveKeyFragments = [
        "authorization", "token", "password", "secret", "cookie", "email", "guest", "phone",
    ]

    public init(label: String, service: String, format: LogFormat, toStandardError: Bool = false) {
        self.label = label
        self.service = service
        self.format = format
        self.toStandardError = toStandardError
    }

    /// Installs the handler for the whole process; the first call wins (swift-log allows one bootstrap).
    ///
    /// - Parameter toStandardError: write to standard error, for commands whose standard output is their result.
    public static func bootstrap(service: String, format: LogFormat, level: Logger.Level, toStandardError: Bool = false)
    {
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        LogLevelControl.level = level
        LoggingSystem.bootstrap { label in
            WedSyncLogHandler(label: label, service: service, format: format, toStandardError: toStandardError)
        }
    }

    private static let bootstrapped = Mutex(false)

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        if let error = event.error { merged["error"] = "\(error)" }
        let line: String
        switch format {
        case .json: line = jsonLine(event: event, metadata: merged)
        case .text: line = textLine(event: event, metadata: merged)
        }
        (toStandardError ? FileHandle.standardError : FileHandle.standardOutput).write(Data((line + "\n").utf8))
    }

    static func redacted(_ key: String, _ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        let lowered = key.lowercased()
        return sensitiveKeyFragments.contains(where: lowered.contains) ? "[redacted]" : value
    }

    private func textLine(event: LogEvent, metadata: Logger.Metadata) -> String {
        var line = "\(ISO8601.format(Date())) \(event.level.rawValue.uppercased()) \(service): \(event.message)"
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            line += " \(key)=\(Self.redacted(key, value))"
        }
        return line
    }

    private func jsonLine(event: LogEvent, metadata: Logger.Metadata) -> String {
        var object: [String: JSONLogValue] = [
            "ts": .string(ISO8601.format(Date())),
            "level": .string(event.level.rawValue),
            "service": .string(service),
            "logger": .string(label),
            "message": .string(event.message.description),
        ]
        for (key, value) in metadata {
            object[key] = JSONLogValue(Self.redacted(key, value))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(object) else { return #"{"message":"unencodable log event"}"# }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Log metadata as JSON: strings, arrays and objects.
private enum JSONLogValue: Encodable {
    case string(String)
    case array([JSONLogValue])
    case object([String: JSONLogValue])

    init(_ value: Logger.Metadata.Value) {
        switch value {
        case .string(let string): self = .string(string)
        case .stringConvertible(let convertible): self = .string(convertible.description)
        case .array(let values): self = .array(values.map(JSONLogValue.init))
        case .dictionary(let dictionary): self = .object(dictionary.mapValues(JSONLogValue.init))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let string): try container.encode(string)
        case .array(let values): try container.encode(values)
        case .object(let object): try container.encode(object)
        }
    }
}
