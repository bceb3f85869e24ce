import Foundation

/// A service whose `/metrics` another service reads: the metrics service's scrape targets, the query optimizer's
/// pool targets.
public struct ScrapeTarget: Sendable, Equatable {
    public var name: String
    /// The service's base URL; `/metrics` is appended.
    public var url: String

    public init(name: String, url: String) {
        self.name = name
        self.url = url
    }

    /// `api=http://127.0.0.1:8090,cache=http://127.0.0.1:8081`, the value of the setting `key`.
    public static func list(_ text: String, key: String) throws(ConfigurationError) -> [ScrapeTarget] {
        try text.split(separator: ",").map { item throws(ConfigurationError) -> ScrapeTarget in
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, parts[1].hasPrefix("http://") || parts[1].hasPrefix("https://") else {
                throw ConfigurationError(key: key, message: "expected name=http://host:port, comma-separated")
            }
            return ScrapeTarget(name: parts[0], url: parts[1].hasSuffix("/") ? String(parts[1].dropLast()) : parts[1])
        }
    }
}
