import Config
import Foundation
import HubCore
import Testing

@testable import Hub
@testable import TryOn

/// One shopper's visit at a mirror: when it starts, when it ends, and what it leaves behind.
struct MirrorSessionTests {
    let catalog: ShadeCatalog
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let face = TryOnRenderer.Outcome(strength: 1, locator: .native, confidence: 0.9)
    let nobody = TryOnRenderer.Outcome(strength: 0, locator: nil, confidence: 0)

    init() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        catalog = try ShadeCatalog.load(repository.appendingPathComponent("Assets/shades.json"))
    }

    func later(_ seconds: TimeInterval) -> Date { start.addingTimeInterval(seconds) }

    @Test func aVisitEndsWhenTheFaceHasBeenGoneForTheAbsenceEvenIfNobodyComesNext() throws {
        var session = MirrorSession(catalog: catalog, settings: MirrorSettings())
        #expect(session.observe(face, at: start) == nil)
        let visit = try #require(session.id)
        _ = try session.select(catalog.shades[0].sku, at: later(1)).get()
        #expect(session.link(member: "MEMBER:1234", at: later(2)) != nil)
        // The face goes at 3 s; frames without it keep coming.
        #expect(session.observe(face, at: later(3)) == nil)
        #expect(session.observe(nobody, at: later(3 + MirrorSession.absence - 1)) == nil)
        #expect(session.id == visit, "a short absence does not end the visit")
        let outcome = session.observe(nobody, at: later(3 + MirrorSession.absence + 0.5))
        let ended = try #require(outcome)
        #expect(ended.session == visit)
        #expect(ended.shade.sku == catalog.shades[0].sku)
        #expect(ended.member == "MEMBER:1234")
        #expect(session.id == nil)
        #expect(session.member == nil)
        // Nothing more ends while nobody is there, and the next face starts a new visit.
        #expect(session.observe(nobody, at: later(60)) == nil)
        #expect(session.observe(face, at: later(61)) == nil)
        #expect(session.id != nil && session.id != visit)
    }

    @Test func anEndCommandClearsTheVisitAndItsMemberLink() throws {
        var session = MirrorSession(catalog: catalog, settings: MirrorSettings())
        _ = session.observe(face, at: start)
        _ = session.select(catalog.shades[1].sku, at: later(1))
        _ = session.link(member: "MEMBER:99", at: later(1))
        let outcome = session.end(at: later(5))
        let ended = try #require(outcome)
        #expect(ended.dwellSeconds == 4)
        #expect(session.id == nil)
        #expect(session.member == nil)
    }
}
