import NIOCore
import Synchronization

/// One Redis connection's state on its event loop: the commands written and not yet answered, in order (RESP
/// answers in the order it was asked), and the bytes of a reply still arriving.
///
/// A command unanswered after the command timeout, bytes that are not RESP, or the server closing fail every
/// command waiting and close the connection: like a hiredis context after an I/O error, it is not used again.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Commands written together and answered together.
    private struct Batch {
        let promise: EventLoopPromise<[RedisValue]>
        let count: Int
        var replies: [RedisValue] = []
        let deadline: NIODeadline
    }

    private let commandTimeout: TimeAmount
    private var context: ChannelHandlerContext?
    private var waiting = CircularBuffer<Batch>()
    private var received = ByteBuffer()
    private var timer: Scheduled<Void>?
    /// Why the connection can no longer be used, once it cannot.
    private var failure: RedisError?
    /// Set once the connection can no longer be used, for threads other than the loop's.
    let broken: Broken

    /// Whether a connection has failed, readable from any thread.
    final class Broken: Sendable {
        private let flag = Atomic(false)
        var value: Bool { flag.load(ordering: .acquiring) }
        func set() { flag.store(true, ordering: .releasing) }
    }

    init(commandTimeout: TimeAmount) {
        self.commandTimeout = commandTimeout
        self.broken = Broken()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        fail(RedisError(.connectionLost, "the connection is closed"))
        self.context = nil
    }

    /// Writes `commands` (already encoded, `count` of them) and completes `promise` with their replies.
    func send(_ commands: ByteBuffer, count: Int, promise: EventLoopPromise<[RedisValue]>) {
        guard failure == nil, let context else {
            promise.fail(failure ?? RedisError(.connectionLost, "the connection is closed"))
            return
        }
        let batch = Batch(promise: promise, count: count, deadline: .now() + commandTimeout)
        waiting.append(batch)
        if waiting.count == 1 { armTimer(batch.deadline) }
        context.writeAndFlush(wrapOutboundOut(commands), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if received.readableBytes == 0 {
            received = incoming
        } else {
            received.writeBuffer(&incoming)
        }
        do {
            while failure == nil, let value = try RESP.read(&received) {
                deliver(value)
            }
        } catch {
            fail(error)
            context.close(promise: nil)
            return
        }
        if received.readableBytes == 0 {
            received.clear()
        } else if received.readerIndex > 64 << 10 {
            received.discardReadBytes()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(RedisError(.connectionLost, "the server closed the connection"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(RedisError(.connectionLost, "the connection failed: \(error)"))
        context.close(promise: nil)
    }

    private func deliver(_ value: RedisValue) {
        guard !waiting.isEmpty else {
            // Nothing asked for it: the stream is out of step with the commands.
            fail(RedisError(.unexpectedReply, "a reply arrived that no command was waiting for"))
            context?.close(promise: nil)
            return
        }
        waiting[waiting.startIndex].replies.append(value)
        guard waiting[waiting.startIndex].replies.count == waiting[waiting.startIndex].count else { return }
        let batch = waiting.removeFirst()
        timer?.cancel()
        timer = nil
        if let next = waiting.first { armTimer(next.deadline) }
        batch.promise.succeed(batch.replies)
    }

    private func armTimer(_ deadline: NIODeadline) {
        guard let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            fail(RedisError(.connectionLost, "a command got no reply within the command timeout"))
            self.context?.close(promise: nil)
        }
    }

    /// Marks the connection unusable and fails every command waiting.
    private func fail(_ error: RedisError) {
        if failure == nil {
            failure = error
            broken.set()
        }
        timer?.cancel()
        timer = nil
        while let batch = waiting.popFirst() {
            batch.promise.fail(error)
        }
    }
}
