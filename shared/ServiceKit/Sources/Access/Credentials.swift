import Crypto
import Foundation

/// The credentials a service checks its callers against, and the one it presents when it calls another service.
///
/// - `admin.token`: operators' writes (and everything the monitor and services may do).
/// - `monitor.token`: read-only operator access to dashboards, summaries, streams, statistics and reports.
/// - `service.token`: this service's own credential, sent as a bearer token on every call it makes to another
///   WedSync service.
/// - `service.callers`: the services that may call it, `name=sha256:<hex digest of that service's token>`. Only
///   digests are kept, so one list can be given to every service, and a service that holds its own token cannot
///   pose as another. Which service may call which route is the route's ``RouteAccess``.
///
/// Tokens are compared by their SHA-256 digests, in constant time, so neither a token nor its prefix can be
/// guessed from response times. A caller's credential comes as `Authorization: Bearer <token>`, or as the
/// password of HTTP Basic (so a browser can open the metrics dashboard).
public struct ServiceCredentials: Sendable {
    /// What a request's `Authorization` header says about its caller.
    public enum Outcome: Sendable, Equatable {
        /// No credential at all.
        case anonymous
        /// A credential this service does not know.
        case invalid
        case identified(CallerIdentity)

        /// Whether the caller is an operator (the monitor or the admin).
        public var isOperator: Bool {
            if case .identified(let identity) = self { return identity.isOperator }
            return false
        }
    }

    private let admin: [UInt8]?
    private let monitor: [UInt8]?
    private let callers: [(name: String, digest: [UInt8])]
    /// The token this service presents to others (`service.token`); never logged.
    public let ownToken: String?

    public init(
        adminToken: String?,
        monitorToken: String? = nil,
        serviceToken: String? = nil,
        callers: [String: [UInt8]] = [:]
    ) {
        self.admin = adminToken.map(Self.digest(of:))
        self.monitor = monitorToken.map(Self.digest(of:))
        self.ownToken = serviceToken
        self.callers = callers.map { (name: $0.key, digest: $0.value) }.sorted { $0.name < $1.name }
    }

    /// Whether an admin token is configured (without it admin routes answer 401 to everyone).
    public var hasAdmin: Bool { admin != nil }

    /// The names of the services that may call this one.
    public var callerNames: [String] { callers.map(\.name) }

    /// The caller behind `authorization`.
    public func identify(_ authorization: String?) -> Outcome {
        guard let authorization, !authorization.isEmpty else { return .anonymous }
        guard let token = Self.token(from: authorization) else { return .invalid }
        let digest = Self.digest(of: token)
        // Every candidate is compared, whatever matched first, so the time taken does not say which one it was.
        var found: CallerIdentity?
        if let admin, Self.constantTimeEquals(digest, admin) { found = .admin }
        if let monitor, Self.constantTimeEquals(digest, monitor), found == nil { found = .monitor }
        for caller in callers where Self.constantTimeEquals(digest, caller.digest) && found == nil {
            found = .service(caller.name)
        }
        return found.map(Outcome.identified) ?? .invalid
    }

    /// The token of `Authorization: Bearer <token>`, or the password of `Authorization: Basic <base64(user:password)>`.
    static func token(from authorization: String) -> Substring? {
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[1].utf8.count <= 4096 else { return nil }
        switch parts[0].lowercased() {
        case "bearer":
            return parts[1]
        case "basic":
            guard let decoded = Data(base64Encoded: String(parts[1])),
                let text = String(data: decoded, encoding: .utf8),
                let colon = text.firstIndex(of: ":")
            else { return nil }
            let password = text[text.index(after: colon)...]
            return password.isEmpty ? nil : Substring(password)
        default:
            return nil
        }
    }

    /// The SHA-256 digest a token is compared by.
    public static func digest(of token: some StringProtocol) -> [UInt8] {
        Array(SHA256.hash(data: Array(token.utf8)))
    }

    /// `sha256:<hex>`, the spelling of a digest in `service.callers`.
    public static func digestText(of token: some StringProtocol) -> String {
        "sha256:" + digest(of: token).map { String(format: "%02x", $0) }.joined()
    }

    /// Reads `name=sha256:<hex>` (or `name=<hex>`) entries; `nil` names the first entry that is not one.
    static func parseCallers(_ entries: [String]) -> Result<[String: [UInt8]], CallerListError> {
        var callers: [String: [UInt8]] = [:]
        for entry in entries {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64,
                parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            else { return .failure(CallerListError(message: "expected name=sha256:<hex>")) }
            var hex = Substring(parts[1])
            if hex.hasPrefix("sha256:") { hex = hex.dropFirst(7) }
            guard hex.utf8.count == 64, let digest = Self.bytes(hex: hex) else {
                return .failure(CallerListError(message: "\(parts[0]): expected the 64 hex digits of a SHA-256 digest"))
            }
            callers[parts[0]] = digest
        }
        return .success(callers)
    }

    struct CallerListError: Error {
        var message: String
    }

    private static func bytes(hex: Substring) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.utf8.count / 2)
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    /// Compares every byte of the longer input whatever the contents, folding a length difference into the result.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt64(lhs.count ^ rhs.count)
        let length = max(lhs.count, rhs.count)
        for index in 0..<length {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= UInt64(left ^ right)
        }
        return difference == 0
    }
}
