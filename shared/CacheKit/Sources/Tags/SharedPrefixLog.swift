/// The prefix invalidations of the whole deployment this process knows of (its own, those heard over the
/// backplane, and those read from Redis when the backplane connects), ordered by invalidation sequence number.
///
/// An L2 entry is invalid when one of them came after the entry's data was read (``CacheEntry/sequence``) and
/// its prefix covers the entry's address. This closes the gap a `SCAN` leaves: a load in another process that read
/// before the invalidation and writes to L2 after the scan passed is refused on read.
struct SharedPrefixLog: Sendable {
    private(set) var items: [PrefixInvalidation] = []
    /// The newest sequence number forgotten to keep the log bounded: an entry read before it is refused, since a
    /// forgotten invalidation might have covered it.
    private(set) var forgottenThrough: UInt64 = 0
    static let limit = RedisL2Store.prefixLogLimit

    mutating func add(_ invalidation: PrefixInvalidation) {
        guard !items.contains(invalidation) else { return }
        let index = items.lastIndex { $0.sequence <= invalidation.sequence }.map { $0 + 1 } ?? 0
        items.insert(invalidation, at: index)
        if items.count > Self.limit {
            let excess = items.count - Self.limit
            forgottenThrough = max(forgottenThrough, items[excess - 1].sequence)
            items.removeFirst(excess)
        }
    }

    mutating func replace(with invalidations: [PrefixInvalidation]) {
        for invalidation in invalidations { add(invalidation) }
    }

    /// Whether a prefix invalidation after `sequence` covers `address`.
    func invalidates(_ address: String, after sequence: UInt64) -> Bool {
        if sequence < forgottenThrough { return true }
        for item in items.reversed() {
            guard item.sequence > sequence else { return false }
            if address.hasPrefix(item.prefix) { return true }
        }
        return false
    }
}
