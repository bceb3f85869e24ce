import AsyncHTTPClient
import NIOCore

/// An upstream response's body as it streams: from a pooled connection of the gateway's own (``UpstreamConnection``,
/// plain `http` replicas), or from AsyncHTTPClient (`https` replicas).
public struct UpstreamBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    enum Source: Sendable {
        case connection(UpstreamConnection.Body)
        case client(HTTPClientResponse.Body)
    }

    let source: Source

    public struct AsyncIterator: AsyncIteratorProtocol {
        enum Base {
            case connection(UpstreamConnection.Body.AsyncIterator)
            case client(HTTPClientResponse.Body.AsyncIterator)
        }

        var base: Base

        public mutating func next() async throws -> ByteBuffer? {
            switch base {
            case .connection(var iterator):
                defer { base = .connection(iterator) }
                return try await iterator.next()
            case .client(var iterator):
                defer { base = .client(iterator) }
                return try await iterator.next()
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        switch source {
        case .connection(let body): AsyncIterator(base: .connection(body.makeAsyncIterator()))
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
