import Crypto
import NIOCore
import Testing
import WedSyncCacheKit
import WedSyncTestSupport

@Suite("L2 records: metadata, compression, encryption; tag versions; latency histogram")
struct CacheCodecTests {
    func entry(_ body: String) -> CacheEntry {
        CacheEntry(
            body: ByteBuffer(string: body),
            contentType: "application/json",
            tags: ["client:42", "org:1"],
            tagVersions: [3, 7],
            createdAt: 1_781_359_200,
            ttl: 60,
            staleGrace: 30,
            failSafe: 600
        )
    }

    @Test("A record round-trips with its metadata; large values are compressed, small ones are not")
    func roundTrip() throws {
        let codec = L2Codec(compressionThreshold: 1024)
        let small = entry(#"{"a":1}"#)
        let records = try codec.encode(small, address: "ns/k")
        #expect(records.data == Array(#"{"a":1}"#.utf8))
        let decoded = try codec.decode(metadata: records.metadata, data: records.data, address: "ns/k", version: 9)
        #expect(decoded.tags == small.tags && decoded.tagVersions == [3, 7])
        #expect(
            decoded.createdAt == small.createdAt && decoded.ttl == 60 && decoded.staleGrace == 30
                && decoded.failSafe == 600
        )
        #expect(decoded.contentType == "application/json" && decoded.version == 9)

        let large = entry(String(repeating: #"{"guest":"a name","table":12},"#, count: 200))
        let compressed = try codec.encode(large, address: "ns/k")
        #expect(compressed.data.count < large.body.readableBytes / 4)
        #expect(
            try codec.decode(metadata: compressed.metadata, data: compressed.data, address: "ns/k", version: 1).body
                == large.body
        )
    }

    @Test("With a key, L2 never holds the plaintext, and the record opens only with that key at that address")
    func encryption() throws {
        let key = SymmetricKey(size: .bits256)
        let codec = L2Codec(compressionThreshold: 1 << 20, encryptionKey: key)
        let secret = entry(#"{"partner":"Ada Lovelace"}"#)
        let records = try codec.encode(secret, address: "ns/k")
        #expect(!String(decoding: records.data, as: UTF8.self).contains("Lovelace"))
        #expect(
            try codec.decode(metadata: records.metadata, data: records.data, address: "ns/k", version: 1).body
                == secret.body
        )
        #expect(throws: CacheKitError.self) {
            try codec.decode(metadata: records.metadata, data: records.data, address: "ns/other", version: 1)
        }
        let otherKey = L2Codec(encryptionKey: SymmetricKey(size: .bits256))
        #expect(throws: CacheKitError.self) {
            try otherKey.decode(metadata: records.metadata, data: records.data, address: "ns/k", version: 1)
        }
        let plain = try L2Codec().encode(secret, address: "ns/k")
        #expect(throws: CacheKitError.self) {
            try codec.decode(metadata: plain.metadata, data: plain.data, address: "ns/k", version: 1)
        }
    }

    @Test("Damaged records are refused, not trusted")
    func damaged() throws {
        let codec = L2Codec()
        let records = try codec.encode(entry("x"), address: "ns/k")
        #expect(throws: CacheKitError.self) {
            try codec.decode(
                metadata: Array(records.metadata.prefix(5)),
                data: records.data,
                address: "ns/k",
                version: 1
            )
        }
        #expect(throws: CacheKitError.self) {
            try codec.decode(metadata: [0, 1, 2], data: [], address: "ns/k", version: 1)
        }
        #expect(throws: CacheKitError.self) {
            try codec.decode(metadata: records.metadata, data: records.data + [1], address: "ns/k", version: 1)
        }
    }

    @Test(
        "Tag versions only grow; every change renews the tag's stamp and moves the epoch; offline states never match L2"
    )
    func tagVersions() throws {
        let versions = TagVersions()
        #expect(versions.state(of: "t") == nil)
        versions.merge("t", version: 4, sequence: 10)
        let first = try #require(versions.state(of: "t"))
        let epoch = versions.epoch
        versions.merge("t", version: 2, sequence: 7)
        #expect(versions.state(of: "t") == first, "an older version arriving late changes nothing")
        #expect(versions.epoch == epoch)
        #expect(versions.matches(tags: ["t"], versions: [4]))
        #expect(versions.matches(tags: ["t"], stamps: [first.stamp]))

        versions.merge("t", version: 5, sequence: 12)
        #expect(versions.epoch > epoch)
        #expect(!versions.matches(tags: ["t"], versions: [4]))
        #expect(!versions.matches(tags: ["t"], stamps: [first.stamp]))
        #expect(!versions.matches(tags: ["t", "unknown"], versions: [5, 0]))

        // Offline: raised here, matched by nothing from L2, replaced by the real version once learnt.
        versions.bumpOffline("t")
        let offline = try #require(versions.state(of: "t"))
        #expect(offline.isOffline && offline.version == 6)
        #expect(!versions.matches(tags: ["t"], versions: [6]))
        versions.merge("t", version: 6, sequence: 15)
        #expect(versions.state(of: "t")?.isOffline == false)
        #expect(versions.state(of: "t")?.stamp != offline.stamp)

        // Messages about tags never met here are ignored; a fetch that began before a clear is dropped.
        versions.merge("other", version: 3, sequence: 20, onlyIfKnown: true)
        #expect(versions.state(of: "other") == nil)
        let clear = versions.clearCount
        versions.removeAll()
        versions.merge("t", version: 1, sequence: 1, fetchedAfterClear: clear)
        #expect(versions.state(of: "t") == nil)
    }

    @Test("Histogram percentiles are within a bucket (12.5%) of the exact value")
    func histogram() {
        let histogram = LatencyHistogram()
        var samples: [UInt64] = []
        for index in 1...10_000 {
            let value = UInt64(index * 37 % 100_000 + 100)
            samples.append(value)
            histogram.record(nanoseconds: value)
        }
        samples.sort()
        for quantile in [0.5, 0.9, 0.99] {
            let exact = Double(samples[Int(Double(samples.count) * quantile) - 1])
            let estimate = histogram.quantile(quantile)
            #expect(abs(estimate - exact) / exact < 0.125, "q\(quantile): \(estimate) vs \(exact)")
        }
        #expect(histogram.count == 10_000)
    }
}
