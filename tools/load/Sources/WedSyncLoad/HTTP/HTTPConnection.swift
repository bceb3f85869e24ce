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

/// One request the engine wants sent: which template, and when it was meant to leave.
struct Job: Sendable {
    let template: Int
    let intended: ContinuousClock.Instant
}

/// Keep-alive HTTP/1.1 connections to the target, one request at a time each: a connection takes jobs from its
/// source until it has none, and reconnects when the server closes it.
enum HTTPConnection {
    struct Closed: Error {}

    /// Runs jobs from `next` on connections to `target` until `next` has none; every job's outcome goes to
    /// `recorder`, measured from its intended start.
    static func serve(
        target: LoadTarget,
        group: any EventLoopGroup,
        requests: [EncodedRequest],
        timeout: Duration,
        recorder: LatencyRecorder,
        next: () async -> Job?
    ) async {
        var current = await next()
        while let job = current {
            var inProgress: Job? = job
            do {
                let channel = try await connect(to: target, group: group)
                try await channel.executeThenClose { inbound, outbound in
                    var responses = inbound.makeAsyncIterator()
                    while let job = inProgress {
                        let (status, bytes, keepAlive) = try await exchange(
                            requests[job.template],
                            on: channel.channel,
                            responses: &responses,
                            outbound: outbound,
                            timeout: timeout
                        )
                        recorder.record(
                            Outcome(
                                template: job.template,
                                latency: ContinuousClock.now - job.intended,
                                status: status,
                                bytes: bytes
                            )
                        )
                        inProgress = nil
                        current = await next()
                        // The server is closing this connection: the next job goes on a new one.
                        guard keepAlive else { return }
                        inProgress = current
                    }
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

    static func connect(to target: LoadTarget, group: any EventLoopGroup) async throws
        -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
    {
        try await ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .connect(host: target.host, port: target.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
    }

    /// Sends `request` and reads its answer: status, body bytes, and whether the connection stays open. The
    /// connection is closed (and the exchange fails) when no answer is complete within `timeout`.
    private static func exchange(
        _ request: EncodedRequest,
        on channel: any Channel,
        responses: inout NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>,
        timeout: Duration
    ) async throws -> (status: Int, bytes: Int, keepAlive: Bool) {
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        if let body = request.body {
            try await outbound.write(contentsOf: [.head(request.head), .body(.byteBuffer(body)), .end(nil)])
        } else {
            try await outbound.write(contentsOf: [.head(request.head), .end(nil)])
        }
        var status = 0
        var bytes = 0
        var keepAlive = true
        while let part = try await responses.next() {
            switch part {
            case .head(let head):
                status = Int(head.status.code)
                keepAlive = head.isKeepAlive
            case .body(let buffer):
                bytes += buffer.readableBytes
            case .end:
                return (status, bytes, keepAlive)
            }
        }
        throw Closed()
    }
}
