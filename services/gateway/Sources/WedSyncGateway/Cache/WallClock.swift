import Foundation

/// The wall clock the gateway's cache reads: ages, freshness and `Date` fields are wall-clock seconds (RFC 9111
/// §4.2.3). A deployment uses the system's; a test moves its own, so rules about staleness run without sleeping.
public protocol WallClock: Sendable {
    var now: Date { get }
}

/// The system's wall clock.
public struct SystemWallClock: WallClock {
    public init() {}

    public var now: Date { Date() }
}
