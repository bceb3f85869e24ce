import AsyncHTTPClient
import NIOCore

/// An upstream response's body as it streams: from a pooled connection of the gateway's own (``UpstreamConnection``,
/// plain `http` replicas), or from AsyncHTTPClient (`https` replicas).
public struct UpstreamBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    enum Source: Sendable {
        /// The body, and the upload of the request's body when it may still run: it is over once the answer's
        /// body ends or fails.
        case connection(UpstreamConnection.Body, UpstreamConnection.Upload?)
        case client(HTTPClientResponse.Body)
    }

    let source: Source

    /// Waits until the request's body is no longer being sent (stopping it if it still is): for an answer whose
    /// body is not read (a `HEAD`'s, a 204's), before the request's own body is let go.
    func finishUpload() async {
        if case .connection(_, let upload?) = source { await upload.finish() }
    }

    /// Whether ``finishUpload()`` has anything to wait for.
    var hasUpload: Bool {
        if case .connection(_, _?) = source { return true }
        return false
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        enum Base {
            case connection(UpstreamConnection.Body.AsyncIterator, UpstreamConnection.Upload?)
            case client(HTTPClientResponse.Body.AsyncIterator)
        }

        var base: Base

        public mutating func next() async throws -> ByteBuffer? {
            switch base {
            case .connection(let iterator, let upload):
                defer { base = .connection(iterator, upload) }
                do {
                    guard let chunk = try await iterator.next() else {
                        await upload?.finish()
                        return nil
                    }
                    return chunk
                } catch {
                    await upload?.finish()
                    throw error
                }
            case .client(var iterator):
                defer { base = .client(iterator) }
                return try await iterator.next()
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        switch source {
        case .connection(let body, let upload): AsyncIterator(base: .connection(body.makeAsyncIterator(), upload))
        case .client(let body): AsyncIterator(base: .client(body.makeAsyncIterator()))
        }
    }

    /// The whole body, up to `maximum` bytes (more throws).
    public func collect(upTo maximum: Int) async throws -> ByteBuffer {
        var collected = ByteBuffer()
        for try await chunk in self {
            guard collected.readableBytes + chunk.readableBytes <= maximum else {
                throw UpstreamBodyTooLarge(maximum: maximum)
            }
            var chunk = chunk
            collected.writeBuffer(&chunk)
        }
        return collected
    }
}

/// A body longer than a ``UpstreamBody/collect(upTo:)`` allowed.
public struct UpstreamBodyTooLarge: Error, Sendable {
    public var maximum: Int
}
