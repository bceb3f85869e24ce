import NIOCore
import WedSyncServiceKit

/// What one upstream fetch of a cacheable request produced, shared by every request that waited for it.
enum FetchOutcome: Sendable {
    /// A whole response every waiting request may use (the fetching one stores it when `storable`).
    case shared(StoredResponse, storable: Bool)
    /// The upstream confirmed a stored response (304): it, with its fields and freshness updated.
    case notModified(StoredResponse, storable: Bool)
    /// A response only the fetching request may use: not storable, or too large to keep. Its body may have been
    /// read in part (`prefix`, then the rest through `rest`).
    case own(UpstreamResponse, prefix: [ByteBuffer], rest: BodyRest?)
    case failed(ServiceError)
}

/// The unread rest of an upstream body that was read in part; used by one request only.
final class BodyRest: @unchecked Sendable {
    var iterator: ResponseBodyStream.AsyncIterator

    init(_ iterator: ResponseBodyStream.AsyncIterator) {
        self.iterator = iterator
    }
}
