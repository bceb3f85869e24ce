import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

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
