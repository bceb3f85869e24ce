import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Gives each complete, bodiless HTTP/1.1 keep-alive request head to an ``HTTPFastResponder`` first and writes its
/// answer straight to the socket (through ``RequestHeadGuard``, first in the pipeline); the requests it does not
/// answer go on to the router. It asks only while no other request on the connection is being answered, so answers
/// leave in the order the requests came (HTTP/1.1 pipelining). The answers of one read are flushed together when
/// the read completes.
final class FastResponseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let responder: any HTTPFastResponder
    private let guardHandler: RequestHeadGuard
    /// The current request was answered here: its remaining parts are dropped.
    private var answered = false
    private var needsFlush = false

    init(responder: any HTTPFastResponder, guardHandler: RequestHeadGuard) {
        self.responder = responder
        self.guardHandler = guardHandler
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            // This request is the only one open: nothing the router answers is in flight before it.
            // (A client that does not read its answers gets the router's, which waits on the socket: answers made
            // here are written at once, so they are made only while the connection takes them.)
            if guardHandler.openRequestCount == 1, context.channel.isWritable, head.version == .http1_1,
                head.isKeepAlive, !Self.hasBody(head),
                let answer = responder.respond(
                    to: head,
                    remoteAddress: context.channel.remoteAddress,
                    allocator: context.channel.allocator
                )
            {
                answered = true
                guardHandler.writeAnswer(answer)
                needsFlush = true
                return
            }
            answered = false
            context.fireChannelRead(data)
        case .body:
            if !answered { context.fireChannelRead(data) }
        case .end:
            if answered {
                answered = false
            } else {
                context.fireChannelRead(data)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    /// Whether a body follows the head (a `Content-Length` above 0, or any `Transfer-Encoding`).
    static func hasBody(_ head: HTTPRequestHead) -> Bool {
        for (name, value) in head.headers {
            if name.utf8.count == 17, name.lowercased() == "transfer-encoding" { return true }
            if name.utf8.count == 14, name.lowercased() == "content-length", value != "0" { return true }
        }
        return false
    }
}

/// Frames what the router answers, in a service whose request decoder is not paired with the response encoder
/// (``LimitedHTTP1Channel`` unpairs it, so that answers made before the router do not leave their methods in the
/// encoder's queue): a response to a `HEAD` request goes without its body (an error envelope, say), and a
/// response's ``HTTPField/Name/originDate`` goes into its `Date` (Hummingbird sets `Date` to now on every
/// response it writes).
final class RouterResponseFraming: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Whether each request handed to the router, in order, was a `HEAD`.
    private var heads: [Bool] = []
    private var headIndex = 0
    /// The response being written answers a `HEAD`: its body parts are dropped.
    private var suppressingBody = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let request) = unwrapInboundIn(data) {
            if headIndex > 32 {
                heads.removeFirst(headIndex)
                headIndex = 0
            }
            heads.append(request.method == .head)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head):
            // An informational response is followed by the final one to the same request.
            if head.status.kind != .informational || head.status.code == 101 {
                suppressingBody = headIndex < heads.count && heads[headIndex]
                if headIndex < heads.count { headIndex += 1 }
            }
            if let date = head.headerFields[.originDate] {
                head.headerFields[.date] = date
                head.headerFields[.originDate] = nil
                context.write(wrapOutboundOut(.head(head)), promise: promise)
                return
            }
            context.write(data, promise: promise)
        case .body where suppressingBody:
            promise?.succeed()
        case .end:
            suppressingBody = false
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        }
    }
}
