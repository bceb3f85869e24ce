import NIOCore
import NIOTLS

/// On a plain connection, reads the first bytes and tells the protocol negotiation what they are: HTTP/2 with prior
/// knowledge (h2c, RFC 9113 §3.3) when they open with the connection preface, HTTP/1.1 otherwise. It speaks as TLS
/// would (a `TLSUserEvent.handshakeCompleted` naming `h2`, or nothing), so one negotiation handler serves plain and
/// TLS connections alike; then it passes on every byte it held and leaves the pipeline.
final class HTTP2PrefaceSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`.
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private var held: ByteBuffer?
    private var decided = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else {
            context.fireChannelRead(data)
            return
        }
        var bytes = unwrapInboundIn(data)
        if var held {
            held.writeBuffer(&bytes)
            bytes = held
        }
        // Undecided while every byte so far matches the preface and it is not complete yet.
        let seen = bytes.readableBytesView.prefix(Self.preface.count)
        guard seen.elementsEqual(Self.preface.prefix(seen.count)) else {
            decide(context, http2: false, bytes)
            return
        }
        guard seen.count == Self.preface.count else {
            held = bytes
            return
        }
        decide(context, http2: true, bytes)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A connection that closed before saying anything: nothing to negotiate.
        held = nil
        context.fireChannelInactive()
    }

    private func decide(_ context: ChannelHandlerContext, http2: Bool, _ bytes: ByteBuffer) {
        decided = true
        held = nil
        context.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: http2 ? "h2" : nil))
        context.fireChannelRead(wrapInboundOut(bytes))
        context.fireChannelReadComplete()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
