import NIOCore
import NIOHTTP1
import NIOPosix

/// A request as it goes on the wire, built once per template so sending one only writes it.
struct EncodedRequest: Sendable {
    let head: HTTPRequestHead
    let body: ByteBuffer?

    init(_ template: RequestTemplate, target: LoadTarget) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.hostField)
        headers.add(name: "User-Agent", value: "wedsync-load")
        for header in template.headers { headers.add(name: header.name, value: header.value) }
        var body: ByteBuffer?
        if let text = template.body {
            body = ByteBuffer(string: text)
            headers.replaceOrAdd(name: "Content-Length", value: String(text.utf8.count))
            if !headers.contains(name: "Content-Type") { headers.add(name: "Content-Type", value: "application/json") }
        }
        head = HTTPRequestHead(
            version: .http1_1,
            method: HTTPMethod(rawValue: template.method.uppercased()),
            uri: template.target,
            headers: headers
        )
        self.body = body
    }
}

/// One request the engine wants sent: which template, when it was meant to leave, and what goes on the wire when the
/// template names data fields (else the template's own encoding).
struct Job: Sendable {
    let template: Int
    let intended: ContinuousClock.Instant
    var request: EncodedRequest? = nil
}

/// Keep-alive HTTP/1.1 connections to the target, one request at a time each: a connection takes jobs from its
/// source until it has none, and reconnects when the server closes it.
///
/// An exchange runs on the connection's event loop from the write to the end of the answer (``ExchangeHandler``):
/// the task that sent it is resumed once, with the status and size, so a request costs one hop each way.
enum HTTPConnection {
    struct Closed: Error {}

    /// Runs jobs from `next` on connections to `target` until `next` has none; every job's outcome goes to
    /// `recorder`, measured from its intended start.
    static func serve(
        target: LoadTarget,
        group: any EventLoopGroup,
        requests: [EncodedRequest],
        source: SocketAddress? = nil,
        timeout: Duration,
        recorder: LatencyRecorder,
        next: () async -> Job?
    ) async {
        let timeout = TimeAmount.nanoseconds(
            timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        )
        var current = await next()
        while let job = current {
            var inProgress: Job? = job
            do {
                let (channel, handler) = try await connect(to: target, group: group, source: source)
                defer { channel.close(promise: nil) }
                while let job = inProgress {
                    let sent = ContinuousClock.now
                    let answer = try await handler.exchange(
                        job.request ?? requests[job.template],
                        on: channel,
                        timeout: timeout
                    )
                    let done = ContinuousClock.now
                    recorder.record(
                        Outcome(
                            template: job.template,
                            latency: done - job.intended,
                            wireLatency: done - sent,
                            serverTime: answer.serverTime,
                            status: answer.status,
                            bytes: answer.bytes
                        )
                    )
                    inProgress = nil
                    current = await next()
                    // The server is closing this connection: the next job goes on a new one.
                    guard answer.keepAlive else { break }
                    inProgress = current
                }
            } catch {
                if let job = inProgress {
                    recorder.record(
                        Outcome(
                            template: job.template,
                            latency: ContinuousClock.now - job.intended,
                            status: 0,
                            bytes: 0
                        )
                    )
                    current = await next()
                }
            }
        }
    }

    /// A connection to `target`, from `source` when given (a loopback address of its own per simulated phone).
    static func connect(
        to target: LoadTarget,
        group: any EventLoopGroup,
        source: SocketAddress? = nil,
        keepingBodies: Bool = false
    ) async throws -> (any Channel, ExchangeHandler) {
        let handler = ExchangeHandler(keepsBodies: keepingBodies)
        var bootstrap = ClientBootstrap(group: group)
        if let source { bootstrap = bootstrap.bind(to: source) }
        let channel =
            try await bootstrap
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: target.host, port: target.port).get()
        return (channel, handler)
    }
}

extension HTTPConnection {
    /// One GET on a connection of its own: the status and the body.
    static func get(
        _ path: String,
        from target: LoadTarget,
        headers: [RequestTemplate.Header] = [],
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeout: TimeAmount = .seconds(10)
    ) async throws -> (status: Int, body: ByteBuffer) {
        let (channel, handler) = try await connect(to: target, group: group, keepingBodies: true)
        defer { channel.close(promise: nil) }
        let request = EncodedRequest(RequestTemplate(name: path, target: path, headers: headers), target: target)
        let answer = try await handler.exchange(request, on: channel, timeout: timeout)
        return (answer.status, answer.body ?? ByteBuffer())
    }
}

/// The end of a connection's pipeline: writes one request, reads its answer, and resumes the waiting task once.
/// All of its state is touched on the channel's event loop only.
final class ExchangeHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Never
    typealias OutboundOut = HTTPClientRequestPart

    struct Answer: Sendable {
        var status: Int
        var bytes: Int
        var keepAlive: Bool
        /// The body, when the handler keeps bodies (a load run only counts their bytes).
        var body: ByteBuffer?
        /// The server's own time for a whole answer (its `x-response-time`, as the gateway sends it), when the
        /// answer has a length: a streamed one's is the time its head left.
        var serverTime: Duration?
    }

    /// Whether answers keep their bodies.
    private let keepsBodies: Bool

    init(keepsBodies: Bool = false) {
        self.keepsBodies = keepsBodies
    }

    private var context: ChannelHandlerContext?
    private var waiter: CheckedContinuation<Answer, any Error>?
    private var answer = Answer(status: 0, bytes: 0, keepAlive: true)
    private var timer: Scheduled<Void>?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        fail(HTTPConnection.Closed())
        self.context = nil
    }

    /// Sends `request` and returns its answer; fails when the connection closes first, or when no answer is complete
    /// within `timeout` (the connection is then closed).
    func exchange(_ request: EncodedRequest, on channel: any Channel, timeout: TimeAmount) async throws -> Answer {
        try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Answer, any Error>) in
            channel.eventLoop.execute {
                guard let context = self.context, context.channel.isActive else {
                    waiter.resume(throwing: HTTPConnection.Closed())
                    return
                }
                self.waiter = waiter
                self.answer = Answer(status: 0, bytes: 0, keepAlive: true)
                self.timer = context.eventLoop.scheduleTask(in: timeout) { [weak self] in
                    self?.fail(HTTPConnection.Closed())
                    self?.context?.close(promise: nil)
                }
                context.write(self.wrapOutboundOut(.head(request.head)), promise: nil)
                if let body = request.body {
                    context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                }
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            answer.status = Int(head.status.code)
            answer.keepAlive = head.isKeepAlive
            if let text = head.headers.first(name: "x-response-time"), let milliseconds = Double(text),
                head.headers.contains(name: "content-length")
            {
                answer.serverTime = .microseconds(Int64(milliseconds * 1000))
            }
        case .body(var buffer):
            answer.bytes += buffer.readableBytes
            if keepsBodies {
                if answer.body == nil { answer.body = buffer } else { answer.body?.writeBuffer(&buffer) }
            }
        case .end:
            timer?.cancel()
            timer = nil
            let waiter = self.waiter
            self.waiter = nil
            waiter?.resume(returning: answer)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(HTTPConnection.Closed())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }

    private func fail(_ error: any Error) {
        timer?.cancel()
        timer = nil
        let waiter = self.waiter
        self.waiter = nil
        waiter?.resume(throwing: error)
    }
}
