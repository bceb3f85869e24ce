import Atomics
import Synchronization

/// One namespace of a cache: its policy and its counters. Obtained from ``MultiTierCache/namespace(_:)`` and
/// cheap to keep: a caller that reads one namespace in a loop (the gateway) holds on to it.
public final class CacheNamespace: Sendable {
    public let name: String
    public let policy: NamespacePolicy

    let lookups = ManagedAtomic(0)
    let l1Hits = ManagedAtomic(0)
    let l2Hits = ManagedAtomic(0)
    let l2Lookups = ManagedAtomic(0)
    let misses = ManagedAtomic(0)
    let staleServed = ManagedAtomic(0)
    let failSafeServed = ManagedAtomic(0)
    let loads = ManagedAtomic(0)
    let loadFailures = ManagedAtomic(0)
    let writes = ManagedAtomic(0)
    /// Misses where the key had a value that had only expired (a longer TTL would have hit).
    let expiredMisses = ManagedAtomic(0)
    /// Fresh hits in the second half of an entry's TTL (few of them: the TTL is longer than it needs to be).
    let lateHits = ManagedAtomic(0)
    /// Bytes of values stored (loads, sets, warming).
    let bytesWritten = ManagedAtomic(0)
    /// The keys loaded most often: misses that keep coming back, worth warming.
    let hotKeys = Mutex(HeavyHitters(capacity: 32))
    let createdAt: Double

    init(name: String, policy: NamespacePolicy, createdAt: Double) {
        self.name = name
        self.policy = policy
        self.createdAt = createdAt
    }

    /// Adds a stand-in's counters (``NamespaceRegistry/standIn(_:)``) to this namespace's.
    func absorb(_ other: CacheNamespace) {
        let counters: [(ManagedAtomic<Int>, ManagedAtomic<Int>)] = [
            (lookups, other.lookups), (l1Hits, other.l1Hits), (l2Hits, other.l2Hits), (l2Lookups, other.l2Lookups),
            (misses, other.misses), (staleServed, other.staleServed), (failSafeServed, other.failSafeServed),
            (loads, other.loads),
            (loadFailures, other.loadFailures), (writes, other.writes), (expiredMisses, other.expiredMisses),
            (lateHits, other.lateHits),
            (bytesWritten, other.bytesWritten),
        ]
        for (mine, theirs) in counters { Self.count(mine, by: theirs.load(ordering: .relaxed)) }
    }

    static func count(_ counter: ManagedAtomic<Int>, by amount: Int = 1) {
        counter.wrappingIncrement(by: amount, ordering: .relaxed)
    }

    var hitRatio: Double {
        let lookups = lookups.load(ordering: .relaxed)
        guard lookups > 0 else { return 0 }
        let hits =
            l1Hits.load(ordering: .relaxed) + l2Hits.load(ordering: .relaxed) + staleServed.load(ordering: .relaxed)
        return min(1, Double(hits) / Double(lookups))
    }
}

/// The namespaces a cache has seen, readable without a lock: readers load an immutable table through one atomic
/// reference; the rare first use of a namespace copies the table under a lock.
final class NamespaceRegistry: Sendable {
    private final class Table: AtomicReference, Sendable {
        let namespaces: [String: CacheNamespace]
        init(_ namespaces: [String: CacheNamespace]) { self.namespaces = namespaces }
    }

    private let table: ManagedAtomic<Table>
    private let writers = Mutex(())
    private let policies: [String: NamespacePolicy]
    private let defaultPolicy: NamespacePolicy
    private let clock: @Sendable () -> Double
    let limit: Int

    init(
        policies: [String: NamespacePolicy],
        defaultPolicy: NamespacePolicy,
        limit: Int,
        clock: @escaping @Sendable () -> Double
    ) {
        self.policies = policies
        self.defaultPolicy = defaultPolicy
        self.limit = limit
        self.clock = clock
        table = ManagedAtomic(Table([:]))
    }

    /// The namespace called `name`, if it exists.
    func existing(_ name: String) -> CacheNamespace? {
        table.load(ordering: .acquiring).namespaces[name]
    }

    /// A namespace with `name`'s policy that is not kept: for a read of a namespace that does not exist, which may
    /// find nothing (a made-up name must not take one of the ``limit`` places).
    func standIn(_ name: String) -> CacheNamespace {
        CacheNamespace(name: name, policy: policies[name] ?? defaultPolicy, createdAt: clock())
    }

    /// The namespace called `name`, created on first use; `nil` once ``limit`` namespaces exist (names come from
    /// callers, so their number must be bounded).
    func namespace(_ name: String) -> CacheNamespace? {
        if let existing = table.load(ordering: .acquiring).namespaces[name] { return existing }
        return writers.withLock { _ -> CacheNamespace? in
            let current = table.load(ordering: .acquiring)
            if let existing = current.namespaces[name] { return existing }
            guard current.namespaces.count < limit || policies[name] != nil else { return nil }
            let created = CacheNamespace(name: name, policy: policies[name] ?? defaultPolicy, createdAt: clock())
            var namespaces = current.namespaces
            namespaces[name] = created
            table.store(Table(namespaces), ordering: .releasing)
            return created
        }
    }

    var all: [CacheNamespace] {
        table.load(ordering: .acquiring).namespaces.values.sorted { $0.name < $1.name }
    }
}
