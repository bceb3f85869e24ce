import Testing

@testable import WedSyncCacheKit

/// The invalidation backplane's messages: the one-key message of every store written by hand must read back as
/// JSONEncoder's would, and a process must know its own messages without decoding them.
@Suite("Cache backplane messages")
struct BackplaneMessageTests {
    static let keys = [
        "gw/origin|-|/items/5?x=1", "ns/a \"quoted\" key", "ns/back\\slash", "ns/tab\tand\u{1}control",
        "ns/café ☕", "ns/\"origin\":\"42\"",
    ]

    @Test("A store's message, written by hand, decodes to what was sent", arguments: keys)
    func oneKey(_ key: String) throws {
        let message = BackplaneMessage(origin: "42", keys: [key: 7], tags: [:], prefixes: [])
        let bytes = try message.encoded()
        #expect(BackplaneMessage.decode(bytes) == message, "\(String(decoding: bytes, as: UTF8.self))")
    }

    @Test("Its own messages are recognised without decoding, whoever wrote them; others' never are")
    func own() throws {
        let plain = try BackplaneMessage(origin: "42", keys: ["ns/k": 1], tags: [:], prefixes: []).encoded()
        let full = try BackplaneMessage(
            origin: "42",
            keys: ["ns/a": 1, "ns/b": 2],
            tags: ["wedding:1": TagVersion(version: 3, sequence: 9)],
            prefixes: [PrefixInvalidation(prefix: "ns/", sequence: 9)]
        ).encoded()
        #expect(BackplaneMessage.isSent(by: "42", plain))
        #expect(BackplaneMessage.isSent(by: "42", full))
        #expect(!BackplaneMessage.isSent(by: "4", plain))
        #expect(!BackplaneMessage.isSent(by: "421", plain))
        // Another process's message about a key that reads like our origin member.
        let sly = try BackplaneMessage(origin: "7", keys: ["ns/\"origin\":\"42\"": 1], tags: [:], prefixes: [])
            .encoded()
        #expect(!BackplaneMessage.isSent(by: "42", sly))
        let tagged = try BackplaneMessage(
            origin: "7",
            keys: [:],
            tags: ["origin": TagVersion(version: 1, sequence: 1)],
            prefixes: []
        ).encoded()
        #expect(!BackplaneMessage.isSent(by: "42", tagged))
    }
}
