import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

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
            guard parts.count == 2, !parts[0].isEmpty, parts[1].hasPrefix("http://") || parts[1].hasPrefix("https://")
            else {
                throw ConfigurationError(key: key, message: "expected name=http://host:port, comma-separated")
            }
            return ScrapeTarget(name: parts[0], url: parts[1].hasSuffix("/") ? String(parts[1].dropLast()) : parts[1])
        }
    }

    /// The target's `/metrics` text; `nil` when it does not answer 200 within `timeout` (up to 16 MB read).
    public func exposition(timeout: Duration) async -> String? {
        do {
            let response = try await ServiceClient.sharedHTTPClient.execute(
                HTTPClientRequest(url: url + "/metrics"),
                timeout: .nanoseconds(Int64(timeout / .nanoseconds(1)))
            )
            let body = try await response.body.collect(upTo: 16 << 20)
            return response.status == .ok ? String(buffer: body) : nil
        } catch {
            return nil
        }
    }
}
