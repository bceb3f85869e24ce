import Synchronization

/// Records one request's metrics exactly once: when ``record()`` is first called, or else when it is let go (a
/// streamed body that was never written, because the client left before the head went).
final class RecordOnce: Sendable {
    private let pending: Mutex<(@Sendable () -> Void)?>

    init(_ record: @escaping @Sendable () -> Void) {
        pending = Mutex(record)
    }

    func record() {
        let record = pending.withLock { pending in
            defer { pending = nil }
            return pending
        }
        record?()
    }

    deinit {
        record()
    }
}
