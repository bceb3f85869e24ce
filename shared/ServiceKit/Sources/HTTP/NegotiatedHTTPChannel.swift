import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOHTTP2
import NIOSSL
import NIOTLS

/// A connection that speaks HTTP/2 or HTTP/1.1, whichever it negotiates: by ALPN behind TLS (``tlsContext``), or by
/// its first bytes on a plain port (``HTTP2PrefaceSniffer``: HTTP/2 with prior knowledge). HTTP/1.1 keeps every
/// limit and the fast path of ``LimitedHTTP1Channel``; HTTP/2 is Hummingbird's, with an idle timeout, a maximum
/// age and a graceful close, each stream framed by ``RouterResponseFraming``.
struct NegotiatedHTTPChannel: ServerChildChannel {
    typealias Negotiated = NIONegotiatedHTTPVersion<LimitedHTTP1Channel.Value, HTTP2Channel.Value>

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    /// The TLS context (TLS 1.3, ALPN `h2` then `http/1.1`); `nil` on a plain port.
    let tlsContext: NIOSSLContext?
    let http1: LimitedHTTP1Channel
    let http2: HTTP2Channel
    let handlersOnEventLoop: Bool
    /// How long a connection may take to say what it speaks (its TLS handshake, or its first bytes): the longer of
    /// the idle and header timeouts, so a client that connects and says nothing holds nothing for long, while a
    /// busy server that is slow to read a prompt client never cuts it off.
    let negotiationTimeout: TimeAmount

    init(
        responder: @escaping HTTPChannelHandler.Responder,
        limits: HTTPServerLimits,
        tlsContext: NIOSSLContext?,
        fastResponder: (any HTTPFastResponder)?,
        handlersOnEventLoop: Bool
    ) {
        let secure = tlsContext != nil
        self.tlsContext = tlsContext
        self.negotiationTimeout = .nanoseconds(
            Int64(max(limits.headerReadTimeout, limits.idleTimeout) / .nanoseconds(1))
        )
        self.handlersOnEventLoop = handlersOnEventLoop
        self.http1 = LimitedHTTP1Channel(
            responder: responder,
            limits: limits,
            fastResponder: fastResponder,
            handlersOnEventLoop: handlersOnEventLoop,
            secure: secure
        )
        var configuration = HTTP2ChannelConfiguration(
            idleTimeout: limits.idleTimeout,
            gracefulCloseTimeout: limits.http2GracefulClose,
            streamConfiguration: .init(
                additionalChannelHandlers: [RouterResponseFraming(scheme: secure ? "https" : "http", http2: true)]
            )
        )
        // Hummingbird 2.28's initializer takes the maximum age and drops it: set it here.
        configuration.maxAgeTimeout = limits.http2MaximumAge == .zero ? nil : limits.http2MaximumAge
        self.http2 = HTTP2Channel(responder: responder, configuration: configuration)
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let (http1, http2) = (self.http1, self.http2)
        return channel.eventLoop.makeCompletedFuture {
            let operations = channel.pipeline.syncOperations
            if let tlsContext {
                try operations.addHandler(NIOSSLServerHandler(context: tlsContext))
            } else {
                try operations.addHandler(HTTP2PrefaceSniffer())
            }
            let negotiation = NIOTypedApplicationProtocolNegotiationHandler<Negotiated> { result in
                switch result {
                case .negotiated("h2"):
                    return http2.setup(channel: channel, logger: logger).map { .http2($0) }
                case .negotiated("http/1.1"), .fallback:
                    return http1.setup(channel: channel, logger: logger).map { .http1_1($0) }
                case .negotiated:
                    return channel.close().flatMap {
                        channel.eventLoop.makeFailedFuture(NIOHTTP2Errors.invalidALPNToken())
                    }
                }
            }
            try operations.addHandler(negotiation)
            // A server shutting down asks every connection to quiesce: one that has not said what it speaks yet (a
            // browser's speculative connection) has nothing to finish, and closes at once.
            let quiescer = UnnegotiatedQuiescer()
            try operations.addHandler(quiescer)
            let result = negotiation.protocolNegotiationResult
            let deadline = channel.eventLoop.scheduleTask(in: negotiationTimeout) { channel.close(promise: nil) }
            result.whenComplete { _ in
                deadline.cancel()
                channel.pipeline.removeHandler(quiescer, promise: nil)
            }
            return Value(negotiated: result, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        let negotiated: Negotiated
        do {
            negotiated = try await value.negotiated.get()
        } catch {
            // A failed handshake, or a connection closed before it spoke: nothing to serve.
            logger.debug("connection not negotiated", metadata: ["error": "\(error)"])
            return
        }
        switch negotiated {
        case .http1_1(let connection):
            await http1.handle(value: connection, logger: logger)
        case .http2(let connection):
            guard handlersOnEventLoop else {
                await http2.handle(value: connection, logger: logger)
                return
            }
            // As for HTTP/1.1: every stream's handler runs on the connection's event loop (task-group children
            // inherit the preference).
            await EventLoopTaskExecutor.running(on: connection.channel.eventLoop) {
                await http2.handle(value: connection, logger: logger)
            }
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/2 and HTTP/1.1 on one port (``NegotiatedHTTPChannel``): by ALPN behind `tlsContext`, or by the client's
    /// first bytes on a plain port.
    static func negotiated(
        _ limits: HTTPServerLimits,
        tlsContext: NIOSSLContext?,
        fastResponder: (any HTTPFastResponder)? = nil,
        handlersOnEventLoop: Bool = false
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            NegotiatedHTTPChannel(
                responder: responder,
                limits: limits,
                tlsContext: tlsContext,
                fastResponder: fastResponder,
                handlersOnEventLoop: handlersOnEventLoop
            )
        }
    }
}

/// Closes a connection asked to quiesce (a graceful shutdown) before its protocol was negotiated; removed once it is.
final class UnnegotiatedQuiescer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
