import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import WedSyncCompression
import WedSyncServiceKit

/// Sends a client's request to a pool: its fields made fit for the upstream (``ProxyHeaders``), the tenant the
/// gateway verified added, its body streamed through.
struct UpstreamForwarder: Sendable {
    let client: UpstreamClient

    /// Sends `incoming` to `pool` as the client sent it, conditionals and all.
    func forward(
        _ incoming: IncomingRequest,
        to pool: UpstreamPool,
        route: GatewayRoute,
        exchange: inout ProxyExchange
    ) async throws(ServiceError) -> UpstreamResponse {
        try await send(
            incoming,
            to: pool,
            route: route,
            dropConditionals: false,
            acceptGzip: false,
            exchange: &exchange
        )
    }

    /// Sends `incoming` to `pool`; `method` replaces the client's (a cache fill is a `GET`, without the body),
    /// `extraHeaders` replace the client's fields of the same names. The time to the response head is added to
    /// `exchange`.
    func send(
        _ incoming: IncomingRequest,
        to pool: UpstreamPool,
        route: GatewayRoute,
        method: HTTPMethod? = nil,
        dropConditionals: Bool,
        acceptGzip: Bool,
        extraHeaders: [(String, String)] = [],
        exchange: inout ProxyExchange
    ) async throws(ServiceError) -> UpstreamResponse {
        var headers = ProxyHeaders.upstreamRequestFields(
            incoming.request.headers,
            clientAddress: incoming.clientAddress,
            requestID: incoming.requestID,
            dropConditionals: dropConditionals,
            scheme: incoming.request.head.scheme,
            authority: incoming.request.head.authority
        )
        if let tenant = incoming.tenant { headers.add(name: "X-Tenant-Id", value: tenant) }
        if acceptGzip { headers.replaceOrAdd(name: "accept-encoding", value: "gzip") }
        for (name, value) in extraHeaders { headers.replaceOrAdd(name: name, value: value) }
        let outgoingMethod = method ?? HTTPMethod(rawValue: incoming.request.method.rawValue)
        var body: ForwardBody?
        let length = incoming.request.headers[.contentLength].flatMap { Int64($0) }
        let hasBody = (length ?? 0) > 0 || incoming.request.headers[.transferEncoding] != nil
        if hasBody, method == nil {
            // RFC 9110 §9.3.8: a TRACE carries no content; sent on, its bytes would reach the upstream unframed.
            if outgoingMethod == .TRACE {
                throw ServiceError.badRequest("a TRACE request carries no content", code: "trace_with_body")
            }
            body = ForwardBody(chunks: incoming.request.body, length: length)
        }
        let idempotent = [.GET, .HEAD, .OPTIONS, .PUT, .DELETE, .TRACE].contains(outgoingMethod)
        let request = ForwardRequest(
            method: outgoingMethod,
            target: incoming.target,
            headers: headers,
            body: body,
            isReplayable: idempotent && body == nil
        )
        let response = try await client.send(
            request,
            to: pool,
            timeout: route.timeout,
            retries: route.retries,
            preferring: incoming.eventLoop
        )
        exchange.upstream = (exchange.upstream ?? .zero) + response.elapsed
        return response
    }
}

extension UpstreamResponse {
    /// The answer streamed to `request`'s client as it comes, coded for it (``StreamedCoding``).
    func passedThrough(to request: Request) async -> Response {
        await passedThrough(to: request, prefix: [], rest: nil)
    }

    /// The answer to one request only, when the cache read part of its body: what was read (`prefix`), then the rest
    /// as it streams (`rest`, or the whole body when `nil`).
    func passedThrough(to request: Request, prefix: [ByteBuffer], rest: BodyRest?) async -> Response {
        let status = HTTPResponse.Status(code: status)
        if request.method == .head || status.code == 204 || status.code == 304 {
            guard body.hasUpload else { return Response(status: status, headers: headers, body: ResponseBody()) }
            let body = self.body
            return Response(
                status: status,
                headers: headers,
                body: ResponseBody { writer in
                    await body.finishUpload()
                    try await writer.finish(nil)
                }
            )
        }
        let coding = StreamedCoding.choose(
            method: request.method,
            acceptEncoding: request.headers[values: .acceptEncoding],
            status: status.code,
            fields: headers
        )
        if coding == .asIs, rest == nil {
            return Response(status: status, headers: headers, body: ResponseBody(asyncSequence: streamedBody))
        }
        if coding.compresses, let length = headers[.contentLength].flatMap(Int.init),
            length < ProxyHeaders.compressionThreshold
        {
            return await codedWhole(status: status, coding: coding, length: length, prefix: prefix, rest: rest)
        }
        let whole = streamedBody
        return Response(
            status: status,
            headers: coding.fields(headers),
            body: ResponseBody { writer in
                let coder = try StreamedCoder(coding)
                for chunk in prefix {
                    for part in try coder.code(chunk) { try await writer.write(part) }
                }
                if let rest {
                    while let chunk = try await rest.iterator.next() {
                        for part in try coder.code(chunk) { try await writer.write(part) }
                    }
                } else {
                    for try await chunk in whole {
                        for part in try coder.code(chunk) { try await writer.write(part) }
                    }
                }
                for part in try coder.finish() { try await writer.write(part) }
                try await writer.finish(nil)
            }
        )
    }

    /// A small body of known `length` read whole and coded at once: sent coded, with its length, only if that made
    /// it smaller; otherwise as it came (a tiny body is never sent larger than it is).
    private func codedWhole(
        status: HTTPResponse.Status,
        coding: StreamedCoding,
        length: Int,
        prefix: [ByteBuffer],
        rest: BodyRest?
    ) async -> Response {
        var body = ByteBuffer()
        do {
            for var chunk in prefix { body.writeBuffer(&chunk) }
            if let rest {
                while body.readableBytes <= length, var chunk = try await rest.iterator.next() {
                    body.writeBuffer(&chunk)
                }
            } else {
                for try await var chunk in streamedBody {
                    body.writeBuffer(&chunk)
                    if body.readableBytes > length { break }
                }
            }
        } catch {
            return GatewayProxy.error(.badGateway, "upstream_reset", "the upstream broke off its response")
        }
        // An upstream that sent other than it declared: its answer cannot be framed as it said.
        guard body.readableBytes == length else {
            return GatewayProxy.error(.badGateway, "upstream_reset", "the upstream broke off its response")
        }
        let coded: ByteBuffer? =
            coding == .brotli
            ? Brotli.compress(body, quality: Brotli.fastQuality)
            : Gzip.compress(body, level: Gzip.fastLevel)
        guard let coded, coded.readableBytes < body.readableBytes else {
            // Sent as it came, which every client takes: no Vary is needed for it.
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body))
        }
        var fields = coding.fields(headers)
        fields[.contentLength] = String(coded.readableBytes)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: coded))
    }
}
