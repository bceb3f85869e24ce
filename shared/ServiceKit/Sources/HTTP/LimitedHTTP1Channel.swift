import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Hummingbird's HTTP/1.1 child channel with the limits of ``HTTPServerLimits`` in front of it:
/// - a request head must arrive in full within `headerReadTimeout` of its first byte (408, then close), so a
///   client trickling header bytes (slowloris) cannot hold a connection;
/// - a request head larger than `maximumHeaderBytes` is refused with 431 and the connection closed;
/// - an idle keep-alive connection, or a request body that stops arriving, is closed after `idleTimeout`
///   (Hummingbird's own idle handler).
struct LimitedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let inner: HTTP1Channel
    let limits: HTTPServerLimits
    /// Answers some requests before the router (``FastPathRequestDecoder``).
    let fastResponder: (any HTTPFastResponder)?
    /// Runs each connection's request handling on the connection's event loop (``EventLoopTaskExecutor``).
    let handlersOnEventLoop: Bool
    /// The connection came through TLS: each request is marked `https` (``RouterResponseFraming``).
    let secure: Bool

    init(
        responder: @escaping HTTPChannelHandler.Responder,
        limits: HTTPServerLimits,
        fastResponder: (any HTTPFastResponder)? = nil,
        handlersOnEventLoop: Bool = false,
        secure: Bool = false
    ) {
        // NIO's decoder limits are a backstop above ours, which answer first with a proper status.
        let backstop = max(limits.maximumHeaderBytes * 2, 16 << 10)
        // With a fast responder, Hummingbird's state handler does not see the requests answered before it: the idle
        // timeout is kept by ``RequestHeadGuard``, which sees every byte and every answer.
        // Without a fast responder, a secure connection's requests are marked by a framing of their own (with one,
        // the framing that setup adds does it).
        let marking = secure && fastResponder == nil
        let configuration = HTTP1Channel.Configuration(
            // An autoclosure: a handler of its own for each connection.
            additionalChannelHandlers: marking ? [RouterResponseFraming(scheme: "https")] : [],
            idleTimeout: fastResponder == nil ? .nanoseconds(Int64(limits.idleTimeout / .nanoseconds(1))) : nil,
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: backstop,
                maxHeaderListSize: backstop,
                maxHeaderFieldCount: 1000
            )
        )
        self.inner = HTTP1Channel(responder: responder, configuration: configuration)
        self.limits = limits
        self.fastResponder = fastResponder
        self.handlersOnEventLoop = handlersOnEventLoop
        self.secure = secure
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldSize = backstop
        decoderLimits.maxHeaderListSize = backstop
        decoderLimits.maxHeaderFieldCount = 1000
        self.decoderLimits = decoderLimits
    }

    /// The decoder's limits (a backstop above ``HTTPServerLimits``).
    let decoderLimits: NIOHTTPDecoderLimitConfiguration

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let (limits, fastResponder, secure) = (self.limits, self.fastResponder, self.secure)
        let guardHandler: RequestHeadGuard
        do {
            guardHandler = RequestHeadGuard(
                timeout: .nanoseconds(Int64(limits.headerReadTimeout / .nanoseconds(1))),
                maximumBytes: limits.maximumHeaderBytes,
                idleTimeout: fastResponder == nil ? nil : .nanoseconds(Int64(limits.idleTimeout / .nanoseconds(1)))
            )
            // Last of what is there now: after TLS when the connection is secure (the guard reads and writes the
            // plain bytes), first on a plain connection.
            try channel.pipeline.syncOperations.addHandler(guardHandler, position: .last)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        let decoderLimits = self.decoderLimits
        return inner.setup(channel: channel, logger: logger).flatMap { value in
            do {
                let decoder = try channel.pipeline.syncOperations.context(
                    handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self
                )
                if let fastResponder {
                    // NIO's server pipeline pairs the decoder with the response encoder, which queues each request's
                    // method to frame its response. A request answered before the encoder would leave its method in
                    // that queue, and frame the next response by it (a HEAD's would strip a GET's body): the decoder
                    // here is unpaired, and RouterResponseFraming drops the bodies of the router's responses to HEAD
                    // requests. Requests are read from the bytes first (FastPathRequestDecoder): an answer made there
                    // skips the decoder, the conversion to HTTP types, the router and the response encoder, and never
                    // wakes a task.
                    let unpaired = ByteToMessageHandler(
                        FastPathRequestDecoder(
                            decoder: HTTPRequestDecoder(limitConfiguration: decoderLimits),
                            responder: fastResponder,
                            guardHandler: guardHandler,
                            maximumHeadBytes: limits.maximumHeaderBytes
                        )
                    )
                    try channel.pipeline.syncOperations.addHandler(unpaired, position: .after(decoder.handler))
                    // The decoder leaves the pipeline on a later tick: bytes a negotiation held (TLS, h2c sniffing) are
                    // handed on once setup completes, so setup completes once it has left.
                    let removed = channel.eventLoop.makePromise(of: Void.self)
                    channel.pipeline.syncOperations.removeHandler(context: decoder, promise: removed)
                    try channel.pipeline.syncOperations.addHandler(
                        RequestHeadObserver(guardHandler),
                        position: .after(unpaired)
                    )
                    let state = try channel.pipeline.syncOperations.context(
                        handlerType: HTTPConnectionStateHandler.self
                    )
                    try channel.pipeline.syncOperations.addHandler(
                        RouterResponseFraming(scheme: secure ? "https" : nil),
                        position: .after(state.handler)
                    )
                    return removed.futureResult.map { value }
                } else {
                    try channel.pipeline.syncOperations.addHandler(
                        RequestHeadObserver(guardHandler),
                        position: .after(decoder.handler)
                    )
                }
                return channel.eventLoop.makeSucceededFuture(value)
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
        }
    }

    func handle(value: Value, logger: Logger) async {
        guard handlersOnEventLoop else {
            await inner.handle(value: value, logger: logger)
            return
        }
        await EventLoopTaskExecutor.running(on: value.channel.eventLoop) {
            await inner.handle(value: value, logger: logger)
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with the service's limits (``LimitedHTTP1Channel``).
    static func limitedHTTP1(
        _ limits: HTTPServerLimits,
        fastResponder: (any HTTPFastResponder)? = nil,
        handlersOnEventLoop: Bool = false
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            LimitedHTTP1Channel(
                responder: responder,
                limits: limits,
                fastResponder: fastResponder,
                handlersOnEventLoop: handlersOnEventLoop
            )
        }
    }
}

/// Watches the bytes of each request head as they arrive, before the HTTP decoder: times the head out and bounds
/// its size. ``RequestHeadObserver``, after the decoder, tells it where heads and requests end.
final class RequestHeadGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let timeout: TimeAmount
    private let maximumBytes: Int
    /// Between requests, or reading a head (as opposed to reading a body).
    private var awaitingHead = true
    private var headBytes = 0
    /// Heads decoded whose responses have not ended: an answer of ours is only written when nothing else is.
    private var openRequests = 0
    private var timer: Scheduled<Void>?
    private var refused = false
    /// This handler's place in the pipeline, where raw bytes can be written straight to the socket.
    private var context: ChannelHandlerContext?
    /// Closes a connection on which nothing arrived for this long while it was idle (no request open) or in the
    /// middle of a request's body; `nil` when Hummingbird's own handler keeps the idle timeout.
    private let idleTimeout: TimeAmount?
    private var lastRead = NIODeadline.now()
    /// When the first bytes of the head being read arrived.
    private var headStartedAt = NIODeadline.now()
    private var idleTimer: Scheduled<Void>?

    init(timeout: TimeAmount, maximumBytes: Int, idleTimeout: TimeAmount? = nil) {
        self.timeout = timeout
        self.maximumBytes = maximumBytes
        self.idleTimeout = idleTimeout
    }

    /// Heads decoded whose responses have not ended, the one being read included.
    var openRequestCount: Int { openRequests }

    /// Requests read in full (``requestEnded()``) since the connection opened.
    private(set) var endedRequestCount = 0
    /// Answers written here and not yet flushed.
    private var needsFlush = false

    /// A request without content was answered before the decoder (``FastPathRequestDecoder``): `answer` is
    /// written straight to the socket, and flushed when the read completes. The next bytes are the next head.
    func answeredHere(_ answer: ByteBuffer) {
        awaitingHead = true
        headBytes = 0
        endedRequestCount += 1
        guard let context else { return }
        context.write(wrapOutboundOut(answer), promise: nil)
        needsFlush = true
    }

    /// The start of a head, `bytes` long so far, waits for the rest before the decoder (after requests answered
    /// in the same read): the header timeout and size limit count it.
    func headPending(bytes: Int) {
        // A head that started after a request ended in this read starts its own clock.
        if headBytes == 0 {
            headStartedAt = .now()
            if timer == nil, let context { scheduleHeadCheck(context, at: headStartedAt + timeout) }
        }
        headBytes = bytes
    }

    /// The connection was refused (408 or 431) and is closing: nothing more is answered on it.
    var isRefused: Bool { refused }

    /// Whether anything of this read went on past the decoder (``FastPathRequestDecoder``): when every request
    /// in it was answered here, the handlers after the decoder have nothing to complete.
    private var handedOn = true

    /// Bytes of this read go on to NIO's HTTP decoder and past it.
    func handingOn() {
        handedOn = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        let answeredOnly = needsFlush && !handedOn
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        handedOn = false
        if !answeredOnly { context.fireChannelReadComplete() }
    }

    func channelActive(context: ChannelHandlerContext) {
        scheduleIdleCheck(context, at: .now() + (idleTimeout ?? .zero))
        context.fireChannelActive()
    }

    private func scheduleIdleCheck(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        guard idleTimeout != nil, idleTimer == nil, context.channel.isActive else { return }
        let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(deadline: deadline) { [self] in
            self.idleTimer = nil
            self.checkIdle(loopContext.value)
        }
    }

    /// Closes the connection when it has been quiet for the idle timeout while idle or reading a body (as
    /// Hummingbird's state handler does), else checks again when it could be.
    private func checkIdle(_ context: ChannelHandlerContext) {
        guard let idleTimeout, !refused else { return }
        let waitingOnClient = openRequests == 0 || !awaitingHead
        let quietUntil = lastRead + idleTimeout
        if waitingOnClient, quietUntil <= .now() {
            context.close(promise: nil)
            return
        }
        scheduleIdleCheck(context, at: waitingOnClient ? quietUntil : .now() + idleTimeout)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        if idleTimeout != nil { lastRead = .now() }
        let wasAwaitingHead = awaitingHead
        if wasAwaitingHead {
            if headBytes == 0 { headStartedAt = .now() }
            headBytes += unwrapInboundIn(data).readableBytes
            if timer == nil { scheduleHeadCheck(context, at: headStartedAt + timeout) }
        }
        // The decoder runs synchronously inside this call: a complete head has been seen once it returns.
        context.fireChannelRead(data)
        if wasAwaitingHead, awaitingHead, headBytes > maximumBytes {
            refuse(
                context,
                status: "431 Request Header Fields Too Large",
                code: "headers_too_large",
                message: "the request head exceeds \(maximumBytes) bytes"
            )
        }
    }

    /// One timer at most, never cancelled when a head completes (a keep-alive connection would otherwise schedule
    /// and cancel one per request): when it fires it looks at the head being read now, if any.
    private func scheduleHeadCheck(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) { [self] in
            self.timer = nil
            // No head in progress: the next one schedules its own check.
            guard self.awaitingHead, self.headBytes > 0, !self.refused else { return }
            let due = self.headStartedAt + self.timeout
            guard due <= .now() else {
                self.scheduleHeadCheck(loopContext.value, at: due)
                return
            }
            self.refuse(
                loopContext.value,
                status: "408 Request Timeout",
                code: "request_timeout",
                message: "the request head did not arrive in time"
            )
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        idleTimer?.cancel()
        idleTimer = nil
        context.fireChannelInactive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive, let idleTimeout { scheduleIdleCheck(context, at: .now() + idleTimeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        idleTimer?.cancel()
        idleTimer = nil
        self.context = nil
    }

    /// A head of `size` bytes was decoded; `false` when it is too large (it is then refused, and not passed on).
    func headReceived(size: Int) -> Bool {
        guard size <= maximumBytes else {
            if let context {
                refuse(
                    context,
                    status: "431 Request Header Fields Too Large",
                    code: "headers_too_large",
                    message: "the request head exceeds \(maximumBytes) bytes"
                )
            }
            return false
        }
        awaitingHead = false
        headBytes = 0
        openRequests += 1
        return true
    }

    /// A request (head and body) was read in full: the next bytes are the next head.
    func requestEnded() {
        awaitingHead = true
        headBytes = 0
        endedRequestCount += 1
    }

    /// A response was written in full. The connection is idle from then when no other request is open (as
    /// Hummingbird's state handler counts it): a long download does not eat into the idle time after it.
    func responseEnded() {
        openRequests = max(0, openRequests - 1)
        if openRequests == 0, idleTimeout != nil { lastRead = .now() }
    }

    /// Answers with the error envelope (when no other response is being written) and closes the connection.
    private func refuse(_ context: ChannelHandlerContext, status: String, code: String, message: String) {
        guard !refused else { return }
        refused = true
        timer?.cancel()
        timer = nil
        guard openRequests == 0 else {
            context.close(promise: nil)
            return
        }
        let body = #"{"error":{"code":"\#(code)","message":"\#(message)"}}"#
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count + 128)
        buffer.writeString(
            "HTTP/1.1 \(status)\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n\(body)"
        )
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in context.close(promise: nil) }
    }
}

/// Sits after the HTTP decoder and tells ``RequestHeadGuard`` where each head and request ends, and when each
/// response has been written.
final class RequestHeadObserver: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let guardHandler: RequestHeadGuard
    /// A refused head's request: nothing more of it is passed on.
    private var discarding = false

    init(_ guardHandler: RequestHeadGuard) {
        self.guardHandler = guardHandler
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            // The request line and the fields, as they came (a head that came whole in one read is measured here).
            let size =
                head.method.rawValue.utf8.count + head.uri.utf8.count + 12
                + head.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
            discarding = !guardHandler.headReceived(size: size)
            if head.method == .MSEARCH, !discarding {
                // NIO's parser reads `M-SEARCH` and names it `MSEARCH`, which is another method: the request goes on
                // under the name it was sent with (RFC 9110 §9.1: a method is the token as sent).
                var head = head
                head.method = .RAW(value: "M-SEARCH")
                context.fireChannelRead(wrapInboundOut(.head(head)))
                return
            }
        case .end:
            guardHandler.requestEnded()
        case .body:
            break
        }
        if !discarding { context.fireChannelRead(data) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { guardHandler.responseEnded() }
        context.write(data, promise: promise)
    }
}
