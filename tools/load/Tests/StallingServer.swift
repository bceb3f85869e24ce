import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP server on loopback with a known latency: every answer takes `base`, and for `stall` out of every `period`
/// (the end of each period, counted from its start) it answers nothing until the stall is over. For requests
/// arriving evenly over whole periods, the true latency is `base` for a share `1 - stall/period` of them, and
/// `base` plus a wait uniform between 0 and `stall` for the rest.
final class StallingServer: Sendable {
    let port: Int
    private let channel: any Channel

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    static func start(base: Duration, stall: Duration, period: Duration) async throws -> StallingServer {
        let epoch = NIODeadline.now()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        Responder(epoch: epoch, base: base, stall: stall, period: period)
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return StallingServer(port: channel.localAddress?.port ?? 0, channel: channel)
    }

    func stop() async {
        try? await channel.close()
    }

    final class Responder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let epoch: NIODeadline
        let base: TimeAmount
        let stall: TimeAmount
        let period: TimeAmount

        init(epoch: NIODeadline, base: Duration, stall: Duration, period: Duration) {
            self.epoch = epoch
            self.base = .nanoseconds(Self.nanoseconds(base))
            self.stall = .nanoseconds(Self.nanoseconds(stall))
            self.period = .nanoseconds(Self.nanoseconds(period))
        }

        static func nanoseconds(_ duration: Duration) -> Int64 {
            duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        }

        /// When an answer to a request arriving now is due: after the stall when it is in one, then `base`.
        func due(now: NIODeadline) -> NIODeadline {
            let intoPeriod = (now - epoch).nanoseconds % period.nanoseconds
            let stallStart = period.nanoseconds - stall.nanoseconds
            let held = intoPeriod >= stallStart ? period.nanoseconds - intoPeriod : 0
            return now + .nanoseconds(held) + base
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            let deadline = due(now: .now())
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(deadline: deadline) {
                let context = loopBound.value
                var headers = HTTPHeaders()
                headers.add(name: "Content-Length", value: "2")
                headers.add(name: "Content-Type", value: "application/json")
                context.write(
                    self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                    promise: nil
                )
                context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "{}")))), promise: nil)
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
