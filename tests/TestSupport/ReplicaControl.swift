import Foundation
import Synchronization

/// The shared streaming replica (`WEDSYNC_TEST_REPLICA_URL`) as tests steer it: one test at a time may pause its
/// replay, and a test that needs it replaying waits meanwhile. Every test target runs in one process, so a lock
/// here orders suites of different targets too.
package enum ReplicaControl {
    private static let lock = AsyncLock()

    /// Runs `body` while no other test steers the replica.
    package static func exclusively<Result>(_ body: () async throws -> Result) async throws -> Result {
        await lock.acquire()
        do {
            let result = try await body()
            lock.release()
            return result
        } catch {
            lock.release()
            throw error
        }
    }

    /// Runs `body` with the replica's replay paused (`pg_wal_replay_pause()`): it keeps receiving the primary's log
    /// but applies none of it, so it falls behind by every write made meanwhile. Replay resumes afterwards, whatever
    /// `body` did.
    package static func withReplayPaused<Result>(_ body: () async throws -> Result) async throws -> Result {
        let replica = try TestEnvironment.replicaURL()
        try await psql(replica, "SELECT pg_wal_replay_pause()")
        do {
            let result = try await body()
            try await psql(replica, "SELECT pg_wal_replay_resume()")
            return result
        } catch {
            try? await psql(replica, "SELECT pg_wal_replay_resume()")
            throw error
        }
    }

    /// Runs one statement with `psql` (which every test machine has, with the server).
    package static func psql(_ url: String, _ sql: String) async throws {
        let result = try await run("/usr/bin/psql", [url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql])
        guard result.status == 0 else { throw ServiceProcessError(message: "psql: \(result.output)") }
    }
}

/// A lock for async code: waiters queue in order, none blocks a thread.
package final class AsyncLock: Sendable {
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    package init() {}

    package func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state -> Bool in
                guard state.held else {
                    state.held = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    package func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.held = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
