import Foundation
import WedSyncTestSupport

/// Runs CPU-heavy test work on a thread of its own rather than on the two threads of the Swift concurrency pool,
/// which the servers of the suites running alongside need. Expectations stay in the test: the work returns what
/// they check.
func onOwnThread<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
