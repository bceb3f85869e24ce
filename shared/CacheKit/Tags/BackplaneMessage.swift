import Foundation
import WedSyncModels

/// What one process tells every other over the invalidation backplane (Redis pub/sub, ``RedisL2Store/channel``).
struct BackplaneMessage: Codable, Sendable, Equatable {
    /// The sending process, which ignores its own messages.
    var origin: String
    /// Addresses whose L1 copies must go (invalidated, or rewritten by an explicit set).
    var addresses: [String]
    /// Tags and their new versions.
    var tags: [String: UInt64]
    /// Address prefixes whose L1 copies must go.
    var prefixes: [String]

    func encoded() throws -> [UInt8] {
        Array(try WedSyncJSON.makeEncoder().encode(self))
    }

    static func decode(_ bytes: [UInt8]) -> BackplaneMessage? {
        try? WedSyncJSON.makeDecoder().decode(BackplaneMessage.self, from: Data(bytes))
    }
}
