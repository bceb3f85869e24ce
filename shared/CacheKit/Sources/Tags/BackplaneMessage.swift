import Foundation
import WedSyncModels

/// What one process tells every other over the invalidation backplane (Redis pub/sub, ``RedisL2Store/channel``).
struct BackplaneMessage: Codable, Sendable, Equatable {
    /// The sending process, which ignores its own messages.
    var origin: String
    /// Addresses and their key versions after the change (an invalidation or an explicit set): L1 copies older
    /// than that must go, and nothing older may be stored again.
    var keys: [String: UInt64]
    /// Tags and their new versions, with the invalidation sequence number they were raised at.
    var tags: [String: TagVersion]
    /// Address prefixes whose L1 copies must go, with their invalidation sequence numbers.
    var prefixes: [PrefixInvalidation]

    func encoded() throws -> [UInt8] {
        Array(try WedSyncJSON.makeEncoder().encode(self))
    }

    static func decode(_ bytes: [UInt8]) -> BackplaneMessage? {
        try? WedSyncJSON.makeDecoder().decode(BackplaneMessage.self, from: Data(bytes))
    }
}
