import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Frames what the router answers, in a service whose request decoder is not paired with the response encoder
/// (``LimitedHTTP1Channel`` unpairs it, so that answers made before the router do not leave their methods in the
/// encoder's queue): a response to a `HEAD` request goes without its body (an error envelope, say), and a
/// response's ``HTTPField/Name/originDate`` goes into its `Date` (Hummingbird sets `Date` to now on every
/// response it writes). On a TLS or HTTP/2 connection it also marks each request with how it came: its `scheme`
/// (`https` behind TLS), and, for an HTTP/2 request that may carry content without a `Content-Length` (its body
/// is framed by the stream), `Transfer-Encoding: chunked`, as HTTP/1.1 would have said, so a handler knows a body
/// follows.
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
    /// The scheme each request is marked with (`nil`: left as it came).
    private let scheme: String?
    /// Requests come on HTTP/2 streams.
    private let http2: Bool

    init(scheme: String? = nil, http2: Bool = false) {
        self.scheme = scheme
        self.http2 = http2
    }

    /// RFC 9113 §8.2.2's connection-specific fields.
    private static let connectionSpecific: Set<HTTPField.Name> = [
        .connection, HTTPField.Name("Keep-Alive")!, HTTPField.Name("Proxy-Connection")!, .transferEncoding,
        .upgrade,
    ]

    /// Methods whose requests carry no content in practice: an HTTP/2 one without a length is taken as bodiless.
    private static let bodiless: Set<HTTPRequest.Method> = [.get, .head, .options, .trace, .connect]

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(var request) = unwrapInboundIn(data) {
            if headIndex > 32 {
                heads.removeFirst(headIndex)
                headIndex = 0
            }
            heads.append(request.method == .head)
            if scheme != nil || http2 {
                if let scheme { request.scheme = scheme }
                if http2, request.headerFields[.contentLength] == nil, !Self.bodiless.contains(request.method) {
                    request.headerFields[.transferEncoding] = "chunked"
                }
                context.fireChannelRead(wrapInboundOut(.head(request)))
                return
            }
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
            let connectionFields = http2 && head.headerFields.contains { Self.connectionSpecific.contains($0.name) }
            guard head.headerFields[.originDate] != nil || connectionFields else {
                context.write(data, promise: promise)
                return
            }
            if let date = head.headerFields[.originDate] {
                head.headerFields[.date] = date
                head.headerFields[.originDate] = nil
            }
            // RFC 9113 §8.2.2: HTTP/2 has no connection-specific fields; one would be a malformed response.
            if connectionFields {
                head.headerFields = HTTPFields(head.headerFields.filter { !Self.connectionSpecific.contains($0.name) })
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
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
