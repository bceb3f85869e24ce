/// Where the load goes: an `http://host:port` origin. Tests, fuzzers and benchmarks send traffic only to this
/// machine; the tool itself takes any origin its user names.
public struct LoadTarget: Sendable, Equatable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `http://HOST[:PORT]` (a path after it is ignored); `nil` for anything else.
    public init?(url: String) {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        guard !authority.isEmpty else { return nil }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.isEmpty {
                port = 80
            } else {
                guard after.hasPrefix(":"), let value = Int(after.dropFirst()), (1...65535).contains(value) else {
                    return nil
                }
                port = value
            }
            return
        }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty else { return nil }
        host = String(parts[0])
        if parts.count == 2 {
            guard let value = Int(parts[1]), (1...65535).contains(value) else { return nil }
            port = value
        } else {
            port = 80
        }
    }

    /// The `Host` field's value.
    var hostField: String { port == 80 ? host : "\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}
