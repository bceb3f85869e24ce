import Testing
import WedSyncTestSupport

@testable import WedSyncCacheKit

/// The L1's key identity (``KeyDigest``) and the index that finds entries by it (``DigestIndex``).
@Suite("L1: keys by their 128-bit digest")
struct KeyDigestTests {
    @Test("SipHash's 128-bit output as the reference implementation gives it (vectors_sip128, SipHash-2-4)")
    func referenceVectors() {
        let secret = KeyDigest.Secret(k0: 0x0706_0504_0302_0100, k1: 0x0f0e_0d0c_0b0a_0908)
        // Message i is the bytes 0 ..< i: the first word's tail only, one whole word, a word and a tail.
        let expected: [Int: String] = [
            0: "a3817f04ba25a8e66df67214c7550293", 1: "da87c1d86b99af44347659119b22fc45",
            8: "3b62a9ba6258f5610f83e264f31497b4", 15: "5493e99933b0a8117e08ec0f97cfc3d9",
        ]
        for (length, digest) in expected {
            let message = (0..<length).map { UInt8($0) }
            let (first, second) = message.withUnsafeBytes {
                KeyDigest.sipHash($0, secret, compression: 2, finalization: 4)
            }
            let bytes = [first, second].flatMap { word in (0..<8).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) } }
            #expect(bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined() == digest, "message of \(length)")
        }
    }

    @Test("The same key gives the same digest; keys differing in one byte, or by a seed, differ in both halves")
    func digests() {
        let key = "gw|tenant:17|GET|/api/clients?limit=50"
        #expect(KeyDigest(key) == KeyDigest(String(decoding: Array(key.utf8), as: UTF8.self)))
        let other = KeyDigest("gw|tenant:18|GET|/api/clients?limit=50")
        #expect(KeyDigest(key).first != other.first && KeyDigest(key).second != other.second)
        #expect(KeyDigest(key, secret: .seeded(1)) == KeyDigest(key, secret: .seeded(1)))
        #expect(KeyDigest(key, secret: .seeded(1)) != KeyDigest(key, secret: .seeded(2)))
        // 100,000 keys of one shape, no two digests alike (in either half).
        let digests = (0..<100_000).map { KeyDigest("schedules/org-\($0 % 1_000)/2026-06-\($0 / 1_000)") }
        #expect(Set(digests.map(\.first)).count == digests.count)
        #expect(Set(digests.map(\.second)).count == digests.count)
    }

    @Test("The index agrees with a dictionary over 200,000 random inserts and removals, through its growth")
    func indexAgreesWithDictionary() {
        var generator = SeededGenerator(seed: 7)
        var index = DigestIndex()
        var model: [String: Int32] = [:]
        var nextSlot: Int32 = 0
        for _ in 0..<200_000 {
            let key = "k\(Int.random(in: 0..<20_000, using: &generator))"
            let hashed = HashedKey(key)
            #expect(index.slot(of: hashed) == model[key])
            if model[key] != nil, Bool.random(using: &generator) {
                let removed = index.remove(hashed)
                #expect(removed)
                model[key] = nil
            } else if model[key] == nil {
                index.insert(hashed, slot: nextSlot)
                model[key] = nextSlot
                nextSlot += 1
            }
            #expect(index.count == model.count)
        }
        for (key, slot) in model { #expect(index.slot(of: HashedKey(key)) == slot) }
        let removedUnknown = index.remove(HashedKey("never added"))
        #expect(!removedUnknown)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
