import Synchronization

/// An object made the first time it is asked for and kept: afterwards each read is one atomic load, with no lock
/// and no write (a `Mutex` around the same field would write its cache line on every read, which event loops on
/// other cores then wait for).
///
/// Two threads asking first at once may both make one; the first kept wins, and both get it.
public struct LazyReference<Object: AnyObject & Sendable>: ~Copyable, Sendable {
    @usableFromInline let slot = Atomic<Unmanaged<Object>?>(nil)

    @inlinable
    public init() {}

    /// The kept object, made by `make` if there is none yet.
    @inlinable
    public func get(orMake make: () -> Object) -> Object {
        if let known = slot.load(ordering: .acquiring) { return known.takeUnretainedValue() }
        let made = Unmanaged.passRetained(make())
        let (exchanged, original) = slot.compareExchange(
            expected: nil,
            desired: made,
            ordering: .acquiringAndReleasing
        )
        guard !exchanged, let original else { return made.takeUnretainedValue() }
        made.release()
        return original.takeUnretainedValue()
    }

    /// `body` given the kept object (made by `make` if there is none yet), without counting a reference to it:
    /// the kept object lives as long as this does.
    @inlinable
    public func withValue<Result>(orMake make: () -> Object, _ body: (Object) -> Result) -> Result {
        if let known = slot.load(ordering: .acquiring) { return known._withUnsafeGuaranteedRef(body) }
        return body(get(orMake: make))
    }

    deinit {
        slot.load(ordering: .acquiring)?.release()
    }
}
