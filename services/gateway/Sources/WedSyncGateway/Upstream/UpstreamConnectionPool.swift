import NIOCore
import NIOHTTP1
import Synchronization

/// The keep-alive connections to one `http` replica (``UpstreamConnection``): a request takes an idle one, on the
/// event loop of the client's connection when there is one there (its bytes then never change threads), or opens a
/// new one; the connection comes back when its exchange ends cleanly. At most `maximumIdle` are kept, each for at
/// most `idleTimeout`.
final class UpstreamConnectionPool: Sendable {
    let host: String
    let port: Int
    private let group: any EventLoopGroup
    private let connectTimeout: Duration
    private let readTimeout: Duration
    private let maximumIdle: Int
    private let idleTimeout: Duration
    private let idle = Mutex<[(connection: UpstreamConnection, since: ContinuousClock.Instant)]>([])
    private let shutDown = Atomic(false)

    init(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        connectTimeout: Duration,
        readTimeout: Duration,
        maximumIdle: Int,
        idleTimeout: Duration
    ) {
        self.host = host
        self.port = port
        self.group = group
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.maximumIdle = maximumIdle
        self.idleTimeout = idleTimeout
    }

    /// The `Host` field the replica is sent.
    var hostField: String { port == 80 ? host : "\(host):\(port)" }

    /// Sends `head` (and `body`) on a pooled connection. A replayable request that finds its pooled connection
    /// closed by the upstream before any answer goes again on a new one.
    func execute(
        head: HTTPRequestHead,
        body: (any AsyncSequence<ByteBuffer, any Error> & Sendable)?,
        replayable: Bool,
        deadline: NIODeadline,
        preferring eventLoop: (any EventLoop)?
    ) async throws -> (HTTPResponseHead, UpstreamConnection.Body, UpstreamConnection.Upload?) {
        var reusedFailures = 0
        while true {
            let (connection, reused) = try await lease(preferring: eventLoop)
            do {
                return try await connection.exchange(head: head, body: body, deadline: deadline) { [self] reusable in
                    if reusable { give(back: connection) }
                }
            } catch let error as UpstreamConnectionError
                where error.kind == .closedBeforeResponse && reused && replayable && reusedFailures < 2
                && !Task.isCancelled
            {
                reusedFailures += 1
                continue
            }
        }
    }

    private func lease(preferring eventLoop: (any EventLoop)?) async throws -> (UpstreamConnection, reused: Bool) {
        let now = ContinuousClock.now
        var expired: [UpstreamConnection] = []
        let found = idle.withLock { idle -> UpstreamConnection? in
            // Stale or closed ones go; then the newest on the preferred loop, else the newest.
            idle.removeAll { entry in
                let gone = !entry.connection.isActive || now - entry.since > idleTimeout
                if gone { expired.append(entry.connection) }
                return gone
            }
            if let eventLoop, let index = idle.lastIndex(where: { $0.connection.eventLoop === eventLoop }) {
                return idle.remove(at: index).connection
            }
            return idle.popLast()?.connection
        }
        for connection in expired { connection.close() }
        if let found { return (found, true) }
        let connection = try await UpstreamConnection.connect(
            host: host,
            port: port,
            on: eventLoop ?? group.next(),
            connectTimeout: connectTimeout,
            readTimeout: readTimeout
        )
        return (connection, false)
    }

    private func give(back connection: UpstreamConnection) {
        let kept = idle.withLock { idle in
            // Ones the upstream closed meanwhile make room first.
            idle.removeAll { !$0.connection.isActive }
            guard !shutDown.load(ordering: .relaxed), idle.count < maximumIdle else { return false }
            idle.append((connection, .now))
            return true
        }
        if !kept { connection.close() }
    }

    /// Closes the idle connections and keeps none from now on.
    func shutdown() {
        let all = idle.withLock { idle in
            shutDown.store(true, ordering: .relaxed)
            defer { idle.removeAll() }
            return idle.map(\.connection)
        }
        for connection in all { connection.close() }
    }
}
