import Foundation
import Logging
import Synchronization
import Testing
import WedSyncServiceKit

@Suite("Background delivery: bounded, batched, retried")
struct BackgroundDeliveryTests {
    final class Receiver: Sendable {
        let batches = Mutex<[[Int]]>([])
        let failuresLeft: Mutex<Int>
        init(failures: Int) { failuresLeft = Mutex(failures) }

        func send(_ batch: [Int]) throws {
            let fail = failuresLeft.withLock { left -> Bool in
                defer { left -= 1 }
                return left > 0
            }
            if fail { throw CancellationError() }
            batches.withLock { $0.append(batch) }
        }
    }

    private func run(_ delivery: BackgroundDelivery<Int>, until condition: @escaping @Sendable () -> Bool) async throws
    {
        let task = Task { try await delivery.run() }
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        _ = try? await task.value
    }

    @Test("A full queue drops and counts instead of growing")
    func overflow() {
        let delivery = BackgroundDelivery<Int>(
            name: "test-overflow",
            configuration: .init(capacity: 3),
            logger: Logger(label: "test")
        ) { _ in }
        #expect(delivery.submit(contentsOf: [1, 2]) == 2)
        #expect(delivery.submit(contentsOf: [3, 4, 5]) == 1)
        #expect(!delivery.submit(6))
        #expect(delivery.statistics.queued == 3)
        #expect(delivery.statistics.droppedOverflow == 3)
    }

    @Test("Items go out in batches, in order; failures are retried")
    func retries() async throws {
        let receiver = Receiver(failures: 2)
        let delivery = BackgroundDelivery<Int>(
            name: "test-retry",
            configuration: .init(batchSize: 4, initialBackoff: .milliseconds(1)),
            logger: Logger(label: "test")
        ) { try receiver.send($0) }
        delivery.submit(contentsOf: Array(1...10))
        try await run(delivery) { delivery.statistics.delivered == 10 }
        #expect(receiver.batches.withLock { $0 } == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]])
        #expect(delivery.statistics.failedAttempts == 2)
    }

    @Test("A batch that keeps failing is dropped after its attempts, and counted")
    func undeliverable() async throws {
        let receiver = Receiver(failures: .max)
        let delivery = BackgroundDelivery<Int>(
            name: "test-undeliverable",
            configuration: .init(maximumAttempts: 3, initialBackoff: .milliseconds(1)),
            logger: Logger(label: "test")
        ) { try receiver.send($0) }
        delivery.submit(contentsOf: [1, 2])
        try await run(delivery) { delivery.statistics.droppedUndeliverable == 2 }
        #expect(delivery.statistics.failedAttempts == 3)
        #expect(delivery.statistics.queued == 0)
    }
}
