import Foundation
import Synchronization

/// The notifications sent (the last 1,000), with what became of each: what `GET /v1/notifications` shows.
final class NotificationLog: Sendable {
    private let state = Mutex<(next: Int, list: [NotificationRecord])>((1, []))

    /// Every notification, newest first.
    var records: [NotificationRecord] {
        state.withLock { $0.list.reversed() }
    }

    /// Records a notification about to be sent; returns its id.
    func add(receiver: AlertReceiver, rule: String, status: String, alerts: Int) -> Int {
        let now = Date()
        return state.withLock { state -> Int in
            let id = state.next
            state.next += 1
            state.list.append(
                NotificationRecord(
                    id: id,
                    receiver: receiver.name,
                    channel: receiver.channel,
                    alertName: rule,
                    status: status,
                    alerts: alerts,
                    attempts: 0,
                    delivered: false,
                    lastError: nil,
                    createdAt: now,
                    updatedAt: now
                )
            )
            if state.list.count > 1_000 { state.list.removeFirst(state.list.count - 1_000) }
            return id
        }
    }

    /// Changes the record `id` (gone once 1,000 newer ones came); returns its attempts so far.
    @discardableResult
    func update(_ id: Int, _ change: (inout NotificationRecord) -> Void) -> Int {
        state.withLock { state in
            guard let index = state.list.firstIndex(where: { $0.id == id }) else { return 0 }
            change(&state.list[index])
            return state.list[index].attempts
        }
    }
}
