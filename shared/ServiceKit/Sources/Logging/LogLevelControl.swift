import Logging
import Synchronization

/// The process-wide log level, changeable while the service runs (`PUT /v1/admin/log-level`), as Envoy's
/// `/logging` admin endpoint allows: turn on `debug` on one instance during an incident, then back to `info`.
public enum LogLevelControl {
    private static let rank = Atomic<UInt8>(2)
    private static let levels: [Logger.Level] = Logger.Level.allCases

    /// The level every WedSync logger follows unless one sets its own.
    public static var level: Logger.Level {
        get { levels[Int(rank.load(ordering: .relaxed))] }
        set { rank.store(UInt8(levels.firstIndex(of: newValue) ?? 2), ordering: .relaxed) }
    }
}
