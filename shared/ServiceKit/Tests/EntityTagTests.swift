import Foundation
import Testing
import WedSyncServiceKit

@Suite("Entity tags and conditional requests (RFC 9110)")
struct EntityTagTests {
    @Test("Strong tags of bodies: equal bodies, equal tags")
    func strong() {
        let one = EntityTag.strong(of: Data("abc".utf8))
        #expect(one == EntityTag.strong(of: Data("abc".utf8)))
        #expect(one != EntityTag.strong(of: Data("abd".utf8)))
        #expect(one.description.hasPrefix("\"") && !one.isWeak)
    }

    @Test("If-None-Match compares weakly, accepts lists and *, ignores garbage; If-Match compares strongly")
    func matching() {
        let tag = EntityTag(opaque: "v1")
        #expect(tag.matches(ifNoneMatch: "\"v1\""))
        #expect(tag.matches(ifNoneMatch: "W/\"v1\""))
        #expect(tag.matches(ifNoneMatch: "\"v0\", \"v1\""))
        #expect(tag.matches(ifNoneMatch: "*"))
        #expect(!tag.matches(ifNoneMatch: "\"v2\""))
        #expect(!tag.matches(ifNoneMatch: "v1"))
        #expect(tag.matches(ifMatch: "\"v1\""))
        #expect(!tag.matches(ifMatch: "W/\"v1\""))
    }
}
