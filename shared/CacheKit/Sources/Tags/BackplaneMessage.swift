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
        // The message of every store (one key, nothing else) is written by hand: JSONEncoder costs more than the
        // rest of publishing it.
        guard tags.isEmpty, prefixes.isEmpty, keys.count == 1, let (key, version) = keys.first else {
            return Array(try WedSyncJSON.makeEncoder().encode(self))
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(key.utf8.count + origin.utf8.count + 64)
        bytes += #"{"keys":{"#.utf8
        Self.appendJSONString(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        bytes += String(version).utf8
        bytes += #"},"origin":"#.utf8
        Self.appendJSONString(origin, to: &bytes)
        bytes += #","prefixes":[],"tags":{}}"#.utf8
        return bytes
    }

    /// Appends `text` as a JSON string (RFC 8259 §7): quotes, backslashes and control characters escaped.
    static func appendJSONString(_ text: String, to bytes: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0..<0x20:
                bytes += #"\u00"#.utf8
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Whether `bytes` is a message whose `origin` is `origin`, without decoding it. In JSON an unescaped `"`
    /// only opens or closes a string, so `"origin":"…"` appears only as that member (a key or tag named `origin`
    /// has a number or an object for its value).
    static func isSent(by origin: String, _ bytes: [UInt8]) -> Bool {
        var member = Array(#""origin":"#.utf8)
        appendJSONString(origin, to: &member)
        guard bytes.count >= member.count else { return false }
        return bytes.withUnsafeBufferPointer { haystack in
            member.withUnsafeBufferPointer { needle in
                var start = 0
                while start + needle.count <= haystack.count {
                    if haystack[start] == needle[0],
                        memcmp(haystack.baseAddress! + start, needle.baseAddress!, needle.count) == 0
                    {
                        return true
                    }
                    start += 1
                }
                return false
            }
        }
    }

    static func decode(_ bytes: [UInt8]) -> BackplaneMessage? {
        try? WedSyncJSON.makeDecoder().decode(BackplaneMessage.self, from: Data(bytes))
    }
}
