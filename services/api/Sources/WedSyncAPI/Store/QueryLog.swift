import Foundation
import Synchronization
import WedSyncModels

/// The statements one request ran, with their durations: the request's `Server-Timing` and its query events
/// (for N+1 and slow-query detection) are made from it.
///
/// Carried as a task-local, so the data access code records into whichever request it serves.
public final class QueryLog: Sendable {
    public struct Entry: Sendable {
        /// The statement as an event's fingerprint (``DatabaseQueryEvent/fingerprint(of:)``: whitespace folded,
        /// bounded); parameters are `$n`, so it holds no data.
        public var fingerprint: String
        public var durationMs: Double
        public var rows: Int
        public var at: Date
    }

    @TaskLocal public static var current: QueryLog?

    private let entries = Mutex<[Entry]>([])

    public init() {}

    /// What was recorded so far.
    public var recorded: [Entry] { entries.withLock { $0 } }

    /// The total database time, in milliseconds.
    public var totalMs: Double { entries.withLock { $0.reduce(0) { $0 + $1.durationMs } } }

    func record(sql: String, duration: Duration, rows: Int) {
        let entry = Entry(
            fingerprint: DatabaseQueryEvent.fingerprint(of: sql),
            durationMs: duration.milliseconds,
            rows: rows,
            at: Date()
        )
        entries.withLock { $0.append(entry) }
    }
}

extension Duration {
    /// The duration in milliseconds, as a `Double`.
    var milliseconds: Double { seconds * 1000 }
}
