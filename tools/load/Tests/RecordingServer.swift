import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP server on loopback that answers every request at once with `{}` and keeps what it was sent: the peer's
/// address, the request line, the `Authorization` field and the body.
final class RecordingServer: Sendable {
    struct Received: Sendable, Equatable {
        var peer: String
        var method: String
        var uri: String
        var authorization: String?
        var body: String
    }

    let port: Int
    private let channel: any Channel
    private let log: NIOLockedValueBox<[Received]>

    private init(port: Int, channel: any Channel, log: NIOLockedValueBox<[Received]>) {
        self.port = port
        self.channel = channel
        self.log = log
    }

    var received: [Received] { log.withLockedValue { $0 } }

    static func start() async throws -> RecordingServer {
        let log = NIOLockedValueBox<[Received]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Responder(log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return RecordingServer(port: channel.localAddress?.port ?? 0, channel: channel, log: log)
    }

    func stop() async {
        try? await channel.close()
    }

    final class Responder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let log: NIOLockedValueBox<[Received]>
        private var current: Received?

        init(log: NIOLockedValueBox<[Received]>) {
            self.log = log
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                current = Received(
                    peer: context.channel.remoteAddress?.ipAddress ?? "",
                    method: head.method.rawValue,
                    uri: head.uri,
                    authorization: head.headers.first(name: "Authorization"),
                    body: ""
                )
            case .body(let buffer):
                current?.body += String(buffer: buffer)
            case .end:
                if let current { log.withLockedValue { $0.append(current) } }
                current = nil
                var headers = HTTPHeaders()
                headers.add(name: "Content-Length", value: "2")
                context.write(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                    promise: nil
                )
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "{}")))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
