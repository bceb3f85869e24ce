import Synchronization

/// A Lua script run with `EVALSHA`. Its SHA1 is learnt from `SCRIPT LOAD` on first use and kept, so later calls
/// send only the hash. Keep scripts as `static let`s so the hash is shared.
public final class RedisScript: Sendable {
    public let source: String
    private let knownSHA = Mutex<String?>(nil)

    public init(_ source: String) {
        self.source = source
    }

    var sha: String? { knownSHA.withLock { $0 } }

    func remember(sha: String) {
        knownSHA.withLock { $0 = sha }
    }
}
