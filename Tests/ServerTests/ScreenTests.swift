import Foundation
import HubCore
import Testing

@testable import Server

@Suite struct ScreenTokenTests {
    private let folder = FileManager.default.temporaryDirectory.appendingPathComponent("screens-\(UUID())")
    private var path: String { folder.appendingPathComponent("hub.sqlite").path }
    private let mirror = try! DeviceID(validating: "mirror-1")

    init() throws { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }

    @Test func aScreenTokenCarriesItsDeviceAndKindAcrossARestart() throws {
        let issued = try TokenStore(path: path).create(role: .screen, label: "s", device: mirror, deviceKind: .mirror)
        let principal = try TokenStore(path: path).authenticate(token: issued.token)
        #expect(principal == Principal(tokenID: issued.id, role: .screen, device: mirror, deviceKind: .mirror))
    }

    @Test func aScreenTokenNeedsAKioskOrMirrorAndOnlyScreensNameAKind() throws {
        let store = try TokenStore(path: path)
        #expect(throws: TokenError.self) { try store.create(role: .screen, label: "x", device: mirror) }
        #expect(throws: TokenError.self) { try store.create(role: .screen, label: "x", deviceKind: .mirror) }
        #expect(throws: TokenError.self) {
            try store.create(role: .screen, label: "x", device: mirror, deviceKind: .scanner)
        }
        #expect(throws: TokenError.self) {
            try store.create(role: .device, label: "x", device: mirror, deviceKind: .mirror)
        }
    }

    @Test func aRevokedScreenIsNoLongerListedNorAccepted() throws {
        let store = try TokenStore(path: path)
        let kept = try store.create(role: .screen, label: "a", device: mirror, deviceKind: .mirror)
        let revoked = try store.create(role: .screen, label: "b", device: mirror, deviceKind: .mirror)
        _ = try store.create(role: .staff, label: "staff")
        #expect(try store.list(role: .screen).map(\.id).sorted() == [kept.id, revoked.id].sorted())
        #expect(try store.revoke(id: revoked.id))
        #expect(try !store.revoke(id: revoked.id))
        #expect(try store.list(role: .screen).map(\.id) == [kept.id])
        #expect(store.authenticate(token: revoked.token) == nil)
        #expect(store.authenticate(token: kept.token) != nil)
    }
}

@Suite struct ScreenPairingTests {
    let mirror = try! DeviceID(validating: "mirror-1")

    func issued(_ device: DeviceID?) -> ScreenPairings.Issued {
        .init(token: "shb_x", id: "00000001", device: device ?? mirror, kind: .mirror)
    }

    @Test func anApprovedPairingHandsOutItsTokenOnceThenIsGone() throws {
        let pairings = ScreenPairings()
        let (id, code) = try pairings.start(address: "10.0.0.5", wanted: mirror)
        guard case .waiting(let shown, _)? = pairings.poll(id) else { Issue.record("not waiting"); return }
        #expect(shown == code)
        #expect(pairings.waiting().map(\.code) == [code])
        let approved = try pairings.approve(code: code) { wanted in
            #expect(wanted == mirror)
            return issued(wanted)
        }
        #expect(approved?.token == "shb_x")
        #expect(try pairings.approve(code: code) { issued($0) } == nil, "a code is approved once")
        guard case .approved(let collected)? = pairings.poll(id) else { Issue.record("not approved"); return }
        #expect(collected.token == "shb_x")
        #expect(pairings.poll(id) == nil, "the token is handed out once")
    }

    @Test func codesAreSixUnambiguousCharactersAndStaffMayTypeThemLoosely() throws {
        let pairings = ScreenPairings()
        let (_, code) = try pairings.start(address: "a", wanted: nil)
        #expect(code.count == 6)
        #expect(code.allSatisfy { ScreenPairings.alphabet.contains($0) })
        #expect(!code.contains { "0O1IL2Z5S8B".contains($0) })
        let typed = "\(code.prefix(3).lowercased())-\(code.suffix(3).lowercased())"
        #expect(ScreenPairings.normalize(typed) == code)
        #expect(ScreenPairings.normalize("ABC") == nil)
        #expect(ScreenPairings.normalize("AAAAA0") == nil)
    }

    @Test func oneAddressMayStartOnlyAFewPairingsAMinute() throws {
        let pairings = ScreenPairings()
        for _ in 0..<ScreenPairings.perAddressPerMinute { _ = try pairings.start(address: "10.0.0.9", wanted: nil) }
        #expect(throws: ScreenPairings.Refusal.self) { try pairings.start(address: "10.0.0.9", wanted: nil) }
        _ = try pairings.start(address: "10.0.0.10", wanted: nil)
    }

    @Test func pendingPairingsAreBoundedOverAllAddresses() throws {
        let pairings = ScreenPairings()
        for index in 0..<ScreenPairings.maxPending { _ = try pairings.start(address: "10.1.\(index)", wanted: nil) }
        #expect(throws: ScreenPairings.Refusal.self) { try pairings.start(address: "10.2.0.1", wanted: nil) }
    }

    @Test func anUnknownPairingIsNotFound() {
        #expect(ScreenPairings().poll("00112233445566778899aabbccddeeff") == nil)
    }
}

@Suite struct QRCodeSVGTests {
    @Test func aShareLinkBecomesAnSVGOfSquareModulesWithAQuietZone() throws {
        let svg = try #require(QRCodeSVG.svg(for: "http://127.0.0.1:8080/share/0123456789abcdef0123456789abcdef"))
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "))
        // Version 4 (33 modules) holds this 60-byte URL at level M; with 4 modules of quiet zone on each side: 41.
        #expect(svg.contains("viewBox=\"0 0 41 41\""))
        #expect(svg.contains("<path d=\"M4 4h7v1h-7z"), "the top-left finder pattern starts the first row")
    }

    @Test func emptyOversizedOrNulTextMakesNoCode() {
        #expect(QRCodeSVG.svg(for: "") == nil)
        #expect(QRCodeSVG.svg(for: String(repeating: "a", count: 513)) == nil)
        #expect(QRCodeSVG.svg(for: "a\u{0}b") == nil)
    }
}
