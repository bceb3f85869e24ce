import NIOCore
import NIOHTTP1

/// NIO's HTTP/1.1 request decoder with an ``HTTPFastResponder`` in front of it: each request is first read from the
/// connection's bytes (``FastRequestScanner``); a simple `GET` or `HEAD` the responder answers never reaches the
/// decoder, the router or a task, and its answer is written straight to the socket (through ``RequestHeadGuard``,
/// first in the pipeline). Every other request is handed to the decoder exactly as long as it is (head and
/// `Content-Length` bytes), so the decoder is between requests again after it; a request the strict grammar here
/// does not frame hands the rest of the connection to the decoder.
///
/// Answers are made only while no request handed on is still being answered, so they leave in the order the
/// requests came (HTTP/1.1 pipelining), and only while the socket takes writes. The answers of one read are flushed
/// together when the read completes.
final class FastPathRequestDecoder: ByteToMessageDecoder {
    typealias InboundOut = HTTPServerRequestPart

    private let decoder: HTTPRequestDecoder
    private let responder: any HTTPFastResponder
    private let guardHandler: RequestHeadGuard
    private let maximumHeadBytes: Int

    private enum Mode {
        /// Between requests: the next one is read here first.
        case between
        /// The decoder is reading a request of which `remaining` bytes have still to come; it had ended `ended`
        /// requests before this one.
        case handedOn(remaining: Int, ended: Int)
        /// The decoder reads everything from here on.
        case decoder
    }

    private var mode = Mode.between
    /// The client's IP address as text, once read.
    private var knownClientAddress: String??

    /// The client's IP address as text, read from the channel once a connection.
    private func clientAddress(_ context: ChannelHandlerContext) -> String? {
        if let knownClientAddress { return knownClientAddress }
        let address = context.channel.remoteAddress?.ipAddress
        knownClientAddress = .some(address)
        return address
    }

    init(
        decoder: HTTPRequestDecoder,
        responder: any HTTPFastResponder,
        guardHandler: RequestHeadGuard,
        maximumHeadBytes: Int
    ) {
        self.decoder = decoder
        self.responder = responder
        self.guardHandler = guardHandler
        self.maximumHeadBytes = maximumHeadBytes
    }

    func decoderAdded(context: ChannelHandlerContext) {
        decoder.decoderAdded(context: context)
    }

    func decoderRemoved(context: ChannelHandlerContext) {
        decoder.decoderRemoved(context: context)
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        switch mode {
        case .decoder:
            guardHandler.handingOn()
            return try decoder.decode(context: context, buffer: &buffer)
        case .handedOn(let remaining, let ended):
            guardHandler.handingOn()
            let length = min(remaining, buffer.readableBytes)
            var part = buffer.readSlice(length: length)!
            _ = try decoder.decode(context: context, buffer: &part)
            guard part.readableBytes == 0 else {
                // The decoder kept bytes back (it never does between whole heads): it reads on by itself.
                buffer.moveReaderIndex(to: buffer.readerIndex - part.readableBytes)
                mode = .decoder
                return .continue
            }
            guard length == remaining else {
                mode = .handedOn(remaining: remaining - length, ended: ended)
                return .needMoreData
            }
            // The decoder must have ended that request where the grammar here says it ends; if not, it reads on.
            mode = guardHandler.endedRequestCount == ended + 1 ? .between : .decoder
            return .continue
        case .between:
            guard buffer.readableBytes > 0 else { return .needMoreData }
            switch FastRequestScanner.scan(buffer, limit: maximumHeadBytes) {
            case .incomplete:
                guardHandler.headPending(bytes: buffer.readableBytes)
                return .needMoreData
            case .unsupported:
                mode = .decoder
                guardHandler.handingOn()
                return try decoder.decode(context: context, buffer: &buffer)
            case .request(let head, let headLength, let contentLength):
                if let head, guardHandler.openRequestCount == 0, !guardHandler.isRefused, context.channel.isWritable,
                    let answer = responder.respond(
                        to: head,
                        clientAddress: { self.clientAddress(context) },
                        allocator: context.channel.allocator
                    )
                {
                    buffer.moveReaderIndex(forwardBy: headLength)
                    guardHandler.answeredHere(answer)
                    return .continue
                }
                mode = .handedOn(remaining: headLength + contentLength, ended: guardHandler.endedRequestCount)
                return .continue
            }
        }
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        mode = .decoder
        return try decoder.decodeLast(context: context, buffer: &buffer, seenEOF: seenEOF)
    }
}
