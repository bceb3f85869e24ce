import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A phone's one kept-alive HTTP/1.1 connection, with blocking sockets and `TCP_NODELAY`: a request is one `write`,
/// its answer read whole (by `Content-Length` or chunked), so what a read measures is the server's answer and the
/// loopback, not a client library's own machinery (AsyncHTTPClient adds about 0.2 ms a request here).
final class KeepAliveClient {
    struct Answer {
        var status: Int
        /// Field names lower-cased.
        var headers: [String: String]
        var body: [UInt8]
        /// From sending the request to its answer's last byte (the client's parsing of the fields not included).
        var elapsed: Duration
    }

    private let descriptor: Int32
    private let host: String
    private var pending: [UInt8] = []
    private var buffer = [UInt8](repeating: 0, count: 65_536)

    /// Connects to `base` (`http://127.0.0.1:port`).
    init(base: String) throws {
        guard let components = URLComponents(string: base), let port = components.port else {
            throw BenchError("not an http://host:port URL: \(base)")
        }
        host = "\(components.host ?? "127.0.0.1"):\(port)"
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(components.host ?? "127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            _ = close(descriptor)
            throw BenchError("could not connect to \(base)")
        }
    }

    deinit {
        _ = close(descriptor)
    }

    /// `GET target` with `headers`; the whole answer.
    func get(_ target: String, headers: [(String, String)]) throws -> Answer {
        var request = "GET \(target) HTTP/1.1\r\nHost: \(host)\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        let started = ContinuousClock.now
        guard write(descriptor, bytes, bytes.count) == bytes.count else { throw BenchError("the request was not sent") }
        let head = try readHead()
        // The body's framing from the raw head; the fields are parsed once the answer is in, off the clock.
        var body: [UInt8] = []
        if let length = Self.field("content-length", in: head).flatMap({ Int(String(decoding: $0, as: UTF8.self)) }) {
            body = try take(length)
        } else if let coding = Self.field("transfer-encoding", in: head),
            String(decoding: coding, as: UTF8.self).lowercased().contains("chunked")
        {
            while true {
                let sizeLine = String(decoding: try readLine(), as: UTF8.self)
                let size = Int(sizeLine.split(separator: ";")[0].trimmingCharacters(in: .whitespaces), radix: 16) ?? 0
                if size == 0 {
                    _ = try readLine()
                    break
                }
                body += try take(size)
                _ = try readLine()
            }
        }
        let elapsed = ContinuousClock.now - started
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        guard let statusLine = lines.first, statusLine.count >= 12, let status = Int(statusLine.dropFirst(9).prefix(3))
        else { throw BenchError("not an HTTP answer") }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Answer(status: status, headers: fields, body: body, elapsed: elapsed)
    }

    /// The value of the field `name` (lower-case) in a raw head, its name matched without regard to case and its
    /// value trimmed of spaces; `nil` when the head has none.
    private static func field(_ name: String, in head: [UInt8]) -> ArraySlice<UInt8>? {
        let wanted = Array(name.utf8) + [UInt8(ascii: ":")]
        var start = 0
        while start < head.count {
            var end = start
            while end + 1 < head.count, !(head[end] == 13 && head[end + 1] == 10) { end += 1 }
            if end + 1 >= head.count { end = head.count }
            let line = head[start..<end]
            if line.count > wanted.count,
                zip(line, wanted).allSatisfy({ (($0 >= 65 && $0 <= 90) ? $0 | 0x20 : $0) == $1 })
            {
                var value = line.dropFirst(wanted.count)
                while value.first == 32 { value = value.dropFirst() }
                while value.last == 32 { value = value.dropLast() }
                return value
            }
            start = end + 2
        }
        return nil
    }

    private func fill() throws {
        let count = read(descriptor, &buffer, buffer.count)
        guard count > 0 else { throw BenchError("the connection closed") }
        pending += buffer[0..<count]
    }

    private func readHead() throws -> [UInt8] {
        while true {
            if let end = find([13, 10, 13, 10]) {
                let head = Array(pending[0..<end])
                pending.removeFirst(end + 4)
                return head
            }
            try fill()
        }
    }

    private func readLine() throws -> [UInt8] {
        while true {
            if let end = find([13, 10]) {
                let line = Array(pending[0..<end])
                pending.removeFirst(end + 2)
                return line
            }
            try fill()
        }
    }

    private func take(_ count: Int) throws -> [UInt8] {
        while pending.count < count { try fill() }
        let taken = Array(pending[0..<count])
        pending.removeFirst(count)
        return taken
    }

    /// Where `pattern` (2 or 4 bytes of CR LF) first starts in what was received, compared in place.
    private func find(_ pattern: [UInt8]) -> Int? {
        guard pending.count >= pattern.count else { return nil }
        return pending.withUnsafeBufferPointer { bytes -> Int? in
            var start = 0
            let last = bytes.count - pattern.count
            while start <= last {
                var matched = true
                for offset in 0..<pattern.count where bytes[start + offset] != pattern[offset] {
                    matched = false
                    break
                }
                if matched { return start }
                start += 1
            }
            return nil
        }
    }
}
