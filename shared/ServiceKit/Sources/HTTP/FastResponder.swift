import HTTPTypes
import NIOCore
import NIOHTTP1

/// Answers some requests at once, on the connection's event loop, before they reach the router: for answers that
/// are already made (the gateway's cache hits), where the hop to the concurrency pool, the middleware chain, the
/// conversion to HTTP types and the response encoder would cost more than the answer itself.
///
/// It is asked by the request decoder itself (``FastPathRequestDecoder``), which reads each request from the
/// connection's bytes before NIO's HTTP decoder does, and writes the bytes it is given straight to the socket. It
/// asks only when no request handed to the router is still being answered on the connection, so responses never
/// overtake one another, and only about `GET` and `HEAD` requests in HTTP/1.1, kept alive, without a body.
public protocol HTTPFastResponder: Sendable {
    /// The whole answer to `head` as HTTP/1.1 bytes (status line, fields, blank line, body), or `nil` to let the
    /// router answer it; `clientAddress` gives the client's IP address as text (read once a connection) when it is
    /// needed. Called on the event loop: it must not block or wait.
    func respond(
        to head: FastRequestHead,
        clientAddress: () -> String?,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer?
}

extension HTTPField.Name {
    /// Set by a handler whose response must keep a `Date` of its own (a cache forwards the stored one, RFC 9111 §4):
    /// in a service with a fast responder, its value goes into `Date` as the head is written, and the field is
    /// dropped.
    public static let originDate = HTTPField.Name("x-wedsync-origin-date")!
}
