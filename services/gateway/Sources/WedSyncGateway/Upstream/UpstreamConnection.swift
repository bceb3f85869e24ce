import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Why an exchange with an upstream connection failed.
struct UpstreamConnectionError: Error, Equatable, CustomStringConvertible {
    enum Kind: Equatable {
        /// The connection closed or failed before any byte of the response came: on a connection that had served
        /// earlier requests, the upstream may have closed it while it was idle.
        case closedBeforeResponse
        /// It closed or failed with the response under way.
        case closedDuringResponse
        /// No response head before the deadline.
        case deadlineExceeded
        /// No byte of the body within the read timeout while it was being read.
        case readTimeout
        /// The response could not be parsed.
        case malformedResponse
        /// The request waiting for the head was cancelled.
        case cancelled
    }

    var kind: Kind
    var description: String { "\(kind)" }
}

/// One keep-alive HTTP/1.1 connection to a replica, one exchange at a time: the request head and body go out, the
/// response head comes back through a future, and the body through an async sequence that reads from the socket
/// only as fast as it is consumed (the channel does not read on its own). A connection whose exchange ended cleanly
/// (the response read to its end, the request sent whole, both keep-alive) goes back to its pool.
final class UpstreamConnection: Sendable {
    typealias Body = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, BodyDelegate
    >

    let channel: any Channel
    private let handler: NIOLoopBound<UpstreamConnectionHandler>
    /// Exchanges it has carried, this one included.
    let uses = Atomic<Int>(0)

    private init(channel: any Channel, handler: NIOLoopBound<UpstreamConnectionHandler>) {
        self.channel = channel
        self.handler = handler
    }

    var eventLoop: any EventLoop { channel.eventLoop }
    var isActive: Bool { channel.isActive }

    /// Opens a connection to `host:port` on `eventLoop`.
    static func connect(
        host: String,
        port: Int,
        on eventLoop: any EventLoop,
        connectTimeout: Duration,
        readTimeout: Duration
    ) async throws -> UpstreamConnection {
        let readTimeout = TimeAmount.nanoseconds(Int64(readTimeout / .nanoseconds(1)))
        let (channel, bound) = try await ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(Int64(connectTimeout / .nanoseconds(1))))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.autoRead, value: false)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The framing fields are the caller's (``UpstreamClient``): never rewritten, so a body is
                    // never sent unframed.
                    var encoder = HTTPRequestEncoder.Configuration()
                    encoder.automaticallySetFramingHeaders = false
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(encoderConfiguration: encoder)
                    let handler = UpstreamConnectionHandler(readTimeout: readTimeout)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    return (channel, NIOLoopBound(handler, eventLoop: channel.eventLoop))
                }
            }
        return UpstreamConnection(channel: channel, handler: bound)
    }

    /// Sends `head` and, when given, `body`; returns the response head, its body, and the upload of the request
    /// body when it may still be running (the body's consumer ends it, ``Upload/finish()``, before the request's
    /// own body is let go). `onEnd` is called once the exchange is over, with whether the connection may carry
    /// another.
    func exchange(
        head: HTTPRequestHead,
        body: (any AsyncSequence<ByteBuffer, any Error> & Sendable)?,
        deadline: NIODeadline,
        onEnd: @escaping @Sendable (_ reusable: Bool) -> Void
    ) async throws -> (HTTPResponseHead, Body, Upload?) {
        let id = uses.add(1, ordering: .relaxed).newValue
        let started = eventLoop.makePromise(of: (HTTPResponseHead, Body).self)
        let handler = self.handler
        let channel = self.channel
        eventLoop.execute {
            handler.value.start(
                id,
                head: head,
                hasBody: body != nil,
                deadline: deadline,
                promise: started,
                onEnd: onEnd
            )
        }
        // The body streams out beside the wait for the response (an upstream may answer early, a 413 say); each
        // write waits for the socket to take the previous one.
        let upload = body.map { body in
            Upload(
                Task {
                    do {
                        for try await chunk in body {
                            try await channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(chunk))).get()
                        }
                        // Noted on the loop as the end is written, before any later read of the answer.
                        let ended = channel.eventLoop.makePromise(of: Void.self)
                        ended.futureResult.whenSuccess { handler.value.requestSent(id) }
                        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: ended)
                        try await ended.futureResult.get()
                    } catch {
                        channel.close(promise: nil)
                    }
                }
            )
        }
        do {
            let (response, responseBody) = try await withTaskCancellationHandler {
                try await started.futureResult.get()
            } onCancel: {
                channel.eventLoop.execute { handler.value.cancel(id) }
            }
            return (response, responseBody, upload)
        } catch {
            await upload?.finish()
            throw error
        }
    }

    /// The task streaming a request's body upstream. It reads the client's body, which the server drains once the
    /// answer is written: it must be over before then.
    final class Upload: Sendable {
        private let task: Task<Void, Never>

        init(_ task: Task<Void, Never>) {
            self.task = task
        }

        /// Stops the upload if it still runs (the answer ended first: the connection is closed, not reused), and
        /// waits until it no longer reads the client's body.
        func finish() async {
            task.cancel()
            await task.value
        }
    }

    func close() {
        channel.close(promise: nil)
    }

    /// Reads more of the body when its consumer wants it, and ends the exchange when the consumer lets it go.
    /// It speaks for one exchange (`exchange`): a late word about an earlier one is ignored.
    struct BodyDelegate: NIOAsyncSequenceProducerDelegate {
        let handler: NIOLoopBound<UpstreamConnectionHandler>
        let exchange: Int

        func produceMore() {
            let (handler, exchange) = (self.handler, self.exchange)
            handler.eventLoop.execute { handler.value.resume(exchange) }
        }

        func didTerminate() {
            let (handler, exchange) = (self.handler, self.exchange)
            handler.eventLoop.execute { handler.value.consumerLeft(exchange) }
        }
    }
}

/// The exchange's state on the connection's event loop.
final class UpstreamConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private enum Phase {
        case idle
        /// The request is out (or going), no response head yet.
        case awaitingHead(EventLoopPromise<(HTTPResponseHead, UpstreamConnection.Body)>)
        /// The head was handed over; the body streams.
        case streaming(UpstreamConnection.Body.Source)
        case closed
    }

    private let readTimeout: TimeAmount
    private var context: ChannelHandlerContext?
    private var phase = Phase.idle
    private var onEnd: (@Sendable (Bool) -> Void)?
    private var requestComplete = false
    private var responseKeepAlive = false
    /// The consumer asked for no more for now.
    private var paused = false
    /// A read was asked of the channel and has not completed.
    private var reading = false
    /// The exchange under way (counted from 1).
    private var exchange = 0
    /// The request is a `CONNECT`: whatever follows a 2xx is a tunnel, never another exchange.
    private var isConnect = false
    private var deadlineTask: Scheduled<Void>?
    private var readTimeoutTask: Scheduled<Void>?

    init(readTimeout: TimeAmount) {
        self.readTimeout = readTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func start(
        _ id: Int,
        head: HTTPRequestHead,
        hasBody: Bool,
        deadline: NIODeadline,
        promise: EventLoopPromise<(HTTPResponseHead, UpstreamConnection.Body)>,
        onEnd: @escaping @Sendable (Bool) -> Void
    ) {
        guard let context, case .idle = phase, context.channel.isActive else {
            promise.fail(UpstreamConnectionError(kind: .closedBeforeResponse))
            onEnd(false)
            return
        }
        phase = .awaitingHead(promise)
        exchange = id
        self.onEnd = onEnd
        requestComplete = !hasBody
        responseKeepAlive = false
        isConnect = head.method == .CONNECT
        paused = false
        deadlineTask = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            fail(UpstreamConnectionError(kind: .deadlineExceeded))
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !hasBody {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.flush()
        }
        read()
    }

    func requestSent(_ id: Int) {
        guard id == exchange else { return }
        requestComplete = true
    }

    /// The request waiting for `id`'s head was cancelled: that exchange fails (an exchange whose head came is
    /// ended by its body's consumer instead, and a later one is not this request's).
    func cancel(_ id: Int) {
        guard id == exchange, case .awaitingHead = phase else { return }
        fail(UpstreamConnectionError(kind: .cancelled))
    }

    /// The consumer of `exchange`'s body wants more of it.
    func resume(_ exchange: Int) {
        guard exchange == self.exchange else { return }
        paused = false
        read()
    }

    /// The consumer of `exchange`'s body let it go: a body not read to its end leaves the connection unusable.
    func consumerLeft(_ exchange: Int) {
        guard exchange == self.exchange, case .streaming = phase else { return }
        fail(UpstreamConnectionError(kind: .closedDuringResponse))
    }

    private func read() {
        guard let context, !reading, !paused else { return }
        switch phase {
        case .idle:
            // An idle connection keeps a read asked for, so that the upstream closing it is seen at once (the
            // pool then never lends it) and anything it sends unasked fails it.
            reading = true
            context.read()
        case .awaitingHead, .streaming:
            reading = true
            readTimeoutTask?.cancel()
            if case .streaming = phase {
                readTimeoutTask = context.eventLoop.assumeIsolated().scheduleTask(in: readTimeout) { [self] in
                    fail(UpstreamConnectionError(kind: .readTimeout))
                }
            }
            context.read()
        case .closed:
            break
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        readTimeoutTask?.cancel()
        readTimeoutTask = nil
        switch (unwrapInboundIn(data), phase) {
        case (.head(let head), .awaitingHead(let promise)):
            // 1xx answers (100 Continue, 103 Early Hints) precede the response.
            if head.status.code < 200, head.status.code != 101 { return }
            deadlineTask?.cancel()
            deadlineTask = nil
            // After a 101 or a CONNECT's 2xx the bytes are no longer HTTP.
            responseKeepAlive =
                head.isKeepAlive && head.status.code != 101 && !(isConnect && head.status.code < 300)
            let delegate = UpstreamConnection.BodyDelegate(
                handler: NIOLoopBound(self, eventLoop: context.eventLoop),
                exchange: exchange
            )
            let made = UpstreamConnection.Body.makeSequence(
                backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8),
                finishOnDeinit: false,
                delegate: delegate
            )
            phase = .streaming(made.source)
            promise.succeed((head, made.sequence))
        case (.body(let buffer), .streaming(let source)):
            switch source.yield(buffer) {
            case .produceMore: break
            case .stopProducing: paused = true
            case .dropped: fail(UpstreamConnectionError(kind: .closedDuringResponse))
            }
        case (.end, .streaming(let source)):
            phase = .idle
            paused = false
            source.finish()
            finishExchange()
        case (.head, _), (.body, _), (.end, _):
            // Bytes nobody asked for: the connection is out of step.
            fail(UpstreamConnectionError(kind: .malformedResponse))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        read()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError {
            fail(UpstreamConnectionError(kind: .malformedResponse))
        } else {
            fail(nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(nil)
        context.fireChannelInactive()
    }

    /// Ends the exchange cleanly: the connection goes back to its pool when both sides kept it alive.
    private func finishExchange() {
        let onEnd = self.onEnd
        self.onEnd = nil
        paused = false
        // A request body still going out when the answer ended: the upstream will not read the rest as a request.
        let reusable = responseKeepAlive && requestComplete && (context?.channel.isActive ?? false)
        if !reusable {
            phase = .closed
            context?.close(promise: nil)
        } else {
            read()
        }
        onEnd?(reusable)
    }

    /// Fails what is in flight and closes the connection. `nil` means it closed: before or during the response.
    private func fail(_ error: UpstreamConnectionError?) {
        deadlineTask?.cancel()
        deadlineTask = nil
        readTimeoutTask?.cancel()
        readTimeoutTask = nil
        switch phase {
        case .awaitingHead(let promise):
            promise.fail(error ?? UpstreamConnectionError(kind: .closedBeforeResponse))
        case .streaming(let source):
            source.finish(error ?? UpstreamConnectionError(kind: .closedDuringResponse))
        case .idle, .closed:
            break
        }
        let wasClosed: Bool
        if case .closed = phase { wasClosed = true } else { wasClosed = false }
        phase = .closed
        if !wasClosed { context?.close(promise: nil) }
        let onEnd = self.onEnd
        self.onEnd = nil
        onEnd?(false)
    }
}
