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

    init(responder: @escaping HTTPChannelHandler.Responder, limits: HTTPServerLimits) {
        // NIO's decoder limits are a backstop above ours, which answer first with a proper status.
        let backstop = max(limits.maximumHeaderBytes * 2, 16 << 10)
        let configuration = HTTP1Channel.Configuration(
            idleTimeout: .nanoseconds(Int64(limits.idleTimeout / .nanoseconds(1))),
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: backstop,
                maxHeaderListSize: backstop,
                maxHeaderFieldCount: 1000
            )
        )
        self.inner = HTTP1Channel(responder: responder, configuration: configuration)
        self.limits = limits
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let limits = self.limits
        let guardHandler: RequestHeadGuard
        do {
            guardHandler = RequestHeadGuard(
                timeout: .nanoseconds(Int64(limits.headerReadTimeout / .nanoseconds(1))),
                maximumBytes: limits.maximumHeaderBytes
            )
            try channel.pipeline.syncOperations.addHandler(guardHandler, position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.context(
                handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self
            )
            try channel.pipeline.syncOperations.addHandler(
                RequestHeadObserver(guardHandler),
                position: .after(decoder.handler)
            )
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with the service's limits (``LimitedHTTP1Channel``).
    static func limitedHTTP1(_ limits: HTTPServerLimits) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in LimitedHTTP1Channel(responder: responder, limits: limits) }
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

    init(timeout: TimeAmount, maximumBytes: Int) {
        self.timeout = timeout
        self.maximumBytes = maximumBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let wasAwaitingHead = awaitingHead
        if wasAwaitingHead {
            headBytes += unwrapInboundIn(data).readableBytes
            if timer == nil {
                let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
                timer = context.eventLoop.scheduleTask(in: timeout) { [self] in
                    self.timer = nil
                    self.refuse(
                        loopContext.value,
                        status: "408 Request Timeout",
                        code: "request_timeout",
                        message: "the request head did not arrive in time"
                    )
                }
            }
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

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    /// A head of `size` bytes was decoded; `false` when it is too large (it is then refused, and not passed on).
    func headReceived(size: Int) -> Bool {
        timer?.cancel()
        timer = nil
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
    }

    /// A response was written in full.
    func responseEnded() {
        openRequests = max(0, openRequests - 1)
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
