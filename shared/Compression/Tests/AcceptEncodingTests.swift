import Testing
import WedSyncCompression

@Suite("Accept-Encoding negotiation (RFC 9110 §12.5.3)")
struct AcceptEncodingTests {
    static let all: [ContentCoding] = [.brotli, .gzip, .identity]

    @Test(
        "the coding chosen for a field, among br, gzip and identity",
        arguments: [
            ([], ContentCoding.identity),
            ([""], .identity),
            (["gzip, deflate, br"], .brotli),
            (["gzip, deflate, br, zstd"], .brotli),
            (["gzip, deflate"], .gzip),
            (["GZIP"], .gzip),
            (["x-gzip"], .gzip),
            (["br;q=0.5, gzip"], .gzip),
            (["br;q=1.0, gzip;q=0.8"], .brotli),
            (["gzip;q=0.8", "br;q=0.9"], .brotli),
            (["br ; q=0 , gzip"], .gzip),
            (["*"], .brotli),
            (["*;q=0.5, gzip"], .gzip),
            (["*;q=0.5, br;q=0"], .gzip),
            (["identity"], .identity),
            (["identity;q=0"], .identity),
            (["gzip;q=0, br;q=0"], .identity),
            (["deflate"], .identity),
            (["br;q=2"], .identity),
            (["br;q=0.1234, gzip;q=0.1"], .gzip),
            (["br;q=0.001"], .brotli),
            (["gzip;q=1.000, br;q=1.000"], .brotli),
            (["identity;q=1, gzip;q=0.5"], .identity),
            ([",,, ,gzip,,"], .gzip),
            (["gzip;level=9;q=0.4, identity;q=0.3"], .gzip),
        ] as [([String], ContentCoding)]
    )
    func chosen(values: [String], expected: ContentCoding) {
        #expect(AcceptEncoding(values).preferred(among: Self.all) == expected)
    }

    @Test("only what is available is chosen; identity when the client refuses all of it")
    func available() {
        let browser = AcceptEncoding(["gzip, deflate, br"])
        #expect(browser.preferred(among: [.gzip, .identity]) == .gzip)
        #expect(browser.preferred(among: [.identity]) == .identity)
        let brOnly = AcceptEncoding(["br, identity;q=0"])
        #expect(brOnly.preferred(among: [.gzip, .identity]) == .identity)
        #expect(!brOnly.accepts(.identity))
        #expect(brOnly.accepts(.brotli))
        #expect(!brOnly.accepts(.gzip))
    }

    @Test("weights in thousandths; a named coding keeps its higher weight")
    func weights() {
        let field = AcceptEncoding(["gzip;q=0.3, gzip;q=0.7, br;q=0.25, *;q=0.1"])
        #expect(field.weight(of: .gzip) == 700)
        #expect(field.weight(of: .brotli) == 250)
        #expect(field.weight(of: .identity) == 100)
        #expect(AcceptEncoding(["br"]).weight(of: .identity) == 1, "acceptable, but the last choice")
        #expect(AcceptEncoding(["br, identity"]).weight(of: .identity) == 1000)
    }
}
