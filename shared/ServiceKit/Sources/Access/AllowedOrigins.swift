import Foundation

/// The origins a service may connect to when a caller names the address: warming URLs, upstream replicas added at
/// run time. Anything else is refused before a connection is made, so neither a fuzzer nor a stolen admin token can
/// point a service at another host (`outbound.allowed-origins`, by default the stack's own services).
public struct AllowedOrigins: Sendable {
    /// `http://host:port`, lowercased, the port always written; `http://host:*` allows every port of a host.
    public let origins: Set<String>

    public init(_ origins: [String]) {
        self.origins = Set(origins.compactMap(Self.origin(of:)))
    }

    /// The origin of `url` (`http://Host:80/x` → `http://host:80`; `http://host:*` as it is), or `nil` when it is
    /// not an http(s) URL with a host.
    public static func origin(of url: String) -> String? {
        if url.hasSuffix(":*"), let host = origin(of: String(url.dropLast(2))) {
            return String(host[..<host.lastIndex(of: ":")!]) + ":*"
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host?.lowercased(), !host.isEmpty,
            components.user == nil, components.password == nil
        else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        return "\(scheme)://\(host):\(port)"
    }

    /// Whether `url` points at an allowed origin.
    public func allows(_ url: String) -> Bool {
        guard !url.hasSuffix(":*"), let origin = Self.origin(of: url) else { return false }
        return origins.contains(origin) || origins.contains(String(origin[..<origin.lastIndex(of: ":")!]) + ":*")
    }

    /// The origins as a regular expression alternative (`(http://a:1|http://b:2)`), for the document of a URL field
    /// that takes them. `http://host:*` is any port of the host.
    public func pattern() -> String {
        Self.alternatives(origins.sorted())
    }

    /// The `http` origins as `host:port` alternatives (`(a:1|b:2)`), for the document of an address field that the
    /// service reaches over plain HTTP.
    public func plainAddressPattern() -> String {
        Self.alternatives(
            origins.filter { $0.hasPrefix("http://") }.sorted().map { String($0.dropFirst("http://".count)) }
        )
    }

    /// A port, 1 to 65535, as a regular expression.
    static let portPattern = "([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"

    private static func alternatives(_ origins: [String]) -> String {
        let alternatives = origins.map { origin -> String in
            let text = origin.replacingOccurrences(of: ".", with: "\\.")
            return text.hasSuffix(":*") ? String(text.dropLast()) + portPattern : text
        }
        return alternatives.isEmpty ? "(?!)" : "(" + alternatives.joined(separator: "|") + ")"
    }

    /// Throws a 400 naming `field` unless `url` points at an allowed origin.
    public func check(_ url: String, field: String) throws(ServiceError) {
        guard allows(url) else {
            throw ServiceError.badRequest(
                "\(field): the address is not one of the origins this service may connect to (outbound.allowed-origins)",
                code: "origin_not_allowed"
            )
        }
    }
}
