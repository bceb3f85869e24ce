import HTTPTypes
import NIOCore
import Synchronization

/// Bounds the long-lived streams (Server-Sent Events, exports) a service keeps open: in all, and per client (an
/// address, or a tenant where every tenant comes through one gateway).
///
/// A slot is given back when its ``StreamSlot`` is released, whichever way that happens: the stream ends, the
/// client goes away mid-stream, or the response is dropped before its body ever runs (a client that reset before
/// the head was written), since the slot is freed when the last reference to it goes.
///
/// ```swift
/// let slot = try slots.acquire(client: StreamSlots.client(context.remoteAddress))
/// return Response(status: .ok, body: ResponseBody { writer in
///     _ = slot          // held while the body runs; released with the response otherwise
///     ...
/// })
/// ```
public final class StreamSlots: Sendable {
    public let maximum: Int
    public let maximumPerClient: Int
    private let state = Mutex<(open: Int, perClient: [String: Int])>((0, [:]))

    public init(maximum: Int, maximumPerClient: Int) {
        self.maximum = maximum
        self.maximumPerClient = maximumPerClient
    }

    /// How many streams are open.
    public var open: Int { state.withLock { $0.open } }

    /// A client's key by its address (its IP, whatever its port).
    public static func client(_ address: SocketAddress?) -> String {
        address?.ipAddress ?? "unknown"
    }

    /// Takes a slot for a stream of `client`: 429 when that client already holds its share, 503 when every slot
    /// is taken.
    public func acquire(client key: String) throws(ServiceError) -> StreamSlot {
        let refusal: ServiceError? = state.withLock { state in
            if state.perClient[key, default: 0] >= maximumPerClient {
                return ServiceError(
                    .tooManyRequests,
                    code: "too_many_streams",
                    message: "this client already holds \(maximumPerClient) open streams",
                    headers: [.retryAfter: "10"]
                )
            }
            if state.open >= maximum {
                return ServiceError.unavailable(
                    "too many streams are open",
                    code: "too_many_streams",
                    retryAfterSeconds: 10
                )
            }
            state.open += 1
            state.perClient[key, default: 0] += 1
            return nil
        }
        if let refusal { throw refusal }
        return StreamSlot(slots: self, client: key)
    }

    fileprivate func release(client: String) {
        state.withLock { state in
            state.open -= 1
            let left = state.perClient[client, default: 1] - 1
            state.perClient[client] = left > 0 ? left : nil
        }
    }
}

/// One open stream's slot: given back when the last reference to it goes.
public final class StreamSlot: Sendable {
    private let slots: StreamSlots
    private let client: String

    fileprivate init(slots: StreamSlots, client: String) {
        self.slots = slots
        self.client = client
    }

    deinit {
        slots.release(client: client)
    }
}
