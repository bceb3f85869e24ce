import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A small number for the calling thread, the same each time it asks, given out in turn (0, 1, 2, ...) to threads
/// as they first ask. Figures recorded per thread in N shards (``ShardedTimer``) by `slot % N` keep the first N
/// threads that record on shards of their own (a service's event loops and its few pool threads), where each records
/// without waiting for another (the shards keep their cache lines apart too).
public enum ThreadSlot {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
    private static let next = Atomic<Int>(0)

    /// The calling thread's slot.
    public static var current: Int {
        // Kept as slot + 1: a thread that never asked reads nil.
        if let kept = pthread_getspecific(key) { return Int(bitPattern: kept) - 1 }
        let slot = next.add(1, ordering: .relaxed).oldValue
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: slot + 1))
        return slot
    }
}
