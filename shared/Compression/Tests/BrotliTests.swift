import NIOCore
import Testing
import WedSyncCompression

@Suite("Brotli over libbrotli")
struct BrotliTests {
    /// A JSON body like the API's: repetitive keys, varied values.
    static func json(rows: Int) -> ByteBuffer {
        var text = "["
        for row in 0..<rows {
            if row > 0 { text += "," }
            text += #"{"id":\#(row),"title":"Ceremony \#(row % 7)","startsAt":"2026-06-20T1\#(row % 10):00:00Z","#
            text += #""location":"The Old Barn, hall \#(row % 3)","minutes":\#(15 + row % 45)}"#
        }
        return ByteBuffer(string: text + "]")
    }

    @Test("a body round-trips at every quality, and the best quality beats gzip's best by 15% on JSON")
    func roundTrip() throws {
        let body = Self.json(rows: 300)
        for quality in [0, 1, Brotli.fastQuality, 9, Brotli.bestQuality] {
            let coded = try #require(Brotli.compress(body, quality: quality))
            #expect(coded.readableBytes < body.readableBytes)
            #expect(try Brotli.decompress(coded, maximumSize: 1 << 20) == body)
        }
        let best = try #require(Brotli.compress(body, quality: Brotli.bestQuality))
        let gzip = try #require(Gzip.compress(body, level: Gzip.bestLevel))
        #expect(Double(best.readableBytes) <= 0.85 * Double(gzip.readableBytes))
        #expect(Gzip.decompress(gzip, maximumSize: 1 << 20) == body)
    }

    @Test("an empty body codes and decodes")
    func empty() throws {
        let coded = try #require(Brotli.compress(ByteBuffer()))
        #expect(coded.readableBytes > 0)
        #expect(try Brotli.decompress(coded, maximumSize: 16).readableBytes == 0)
    }

    @Test("a bomb stops at the bound; garbage and a cut stream are corrupt")
    func bounded() throws {
        let zeros = ByteBuffer(repeating: UInt8(ascii: "0"), count: 4 << 20)
        let coded = try #require(Brotli.compress(zeros, quality: 5))
        #expect(coded.readableBytes < 4096)
        #expect(throws: CompressionError.tooLarge) { try Brotli.decompress(coded, maximumSize: 1 << 20) }
        #expect(try Brotli.decompress(coded, maximumSize: 4 << 20).readableBytes == 4 << 20)
        #expect(throws: CompressionError.corrupt) {
            try Brotli.decompress(ByteBuffer(string: "this is not brotli at all"), maximumSize: 1 << 20)
        }
        let body = Self.json(rows: 50)
        let whole = try #require(Brotli.compress(body))
        let cut = whole.getSlice(at: whole.readerIndex, length: whole.readableBytes / 2)!
        #expect(throws: CompressionError.corrupt) { try Brotli.decompress(cut, maximumSize: 1 << 20) }
    }

    @Test("a stream's chunks each decode as they arrive (a flush per chunk), and the whole equals the input")
    func streaming() throws {
        let body = Self.json(rows: 200)
        let stream = try BrotliStream()
        var sent = ByteBuffer()
        var offset = 0
        var chunkCount = 0
        while offset < body.readableBytes {
            let length = min(1500, body.readableBytes - offset)
            let chunk = body.getSlice(at: body.readerIndex + offset, length: length)!
            offset += length
            for var part in try stream.code(chunk) { sent.writeBuffer(&part) }
            chunkCount += 1
            // Everything given so far decodes from what was sent so far: a partial decoder reaches `offset` bytes.
            #expect(
                try Brotli.decompress(sent, maximumSize: 1 << 20, partial: true) == body.getSlice(
                    at: body.readerIndex,
                    length: offset
                )!
            )
        }
        for var part in try stream.finish() { sent.writeBuffer(&part) }
        #expect(chunkCount > 5)
        #expect(try Brotli.decompress(sent, maximumSize: 1 << 20) == body)
        #expect(try stream.finish().isEmpty)
    }
}
