import Config
import Foundation
import HubCore
import Pickup
import Testing

@Suite struct PickupVerifierTests {
    let signing = PickupSigner.makeKey()
    let other = PickupSigner.makeKey()
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    var verifier: PickupVerifier {
        try! PickupVerifier(PickupSettings(keys: [.init(id: "shop-2026", publicKey: signing.publicKey)]))
    }

    func code(
        _ order: String = "ORD-1001", key: String = "shop-2026", expiresIn: TimeInterval = 3600,
        privateKey: String? = nil
    )
        throws -> String
    {
        try PickupSigner.sign(
            orderID: order, expires: now.addingTimeInterval(expiresIn), keyID: key,
            privateKey: privateKey ?? signing.privateKey)
    }

    func check(_ text: String, collected: Set<String> = []) -> PickupCheck? {
        verifier.check(text, now: now, collected: { collected.contains($0) })
    }

    @Test func aGenuineCodeIsValidAndNamesItsOrder() throws {
        let verdict = try #require(check(try code()))
        #expect(verdict.valid && verdict.reason == nil)
        #expect(verdict.orderId == "ORD-1001" && verdict.keyId == "shop-2026")
        #expect(verdict.expires == Timestamp.iso8601(now.addingTimeInterval(3600)))
    }

    @Test func textThatIsNoSignedCodeGetsNoVerdict() {
        #expect(check("PICKUP:ORD-1001") == nil)
        #expect(check("4006381333931") == nil)
    }

    @Test func aCodeSignedWithAnotherKeyIsForged() throws {
        let verdict = try #require(check(try code(privateKey: other.privateKey)))
        #expect(!verdict.valid && verdict.reason == .forged && verdict.orderId == nil)
    }

    @Test func aCodeWhoseOrderWasChangedIsForged() throws {
        let genuine = try code("ORD-1001")
        let altered = genuine.replacingOccurrences(of: "ORD-1001", with: "ORD-1002")
        #expect(check(altered)?.reason == .forged)
    }

    @Test func aCodePastItsExpiryIsExpired() throws {
        let verdict = try #require(check(try code(expiresIn: -1)))
        #expect(!verdict.valid && verdict.reason == .expired && verdict.orderId == "ORD-1001")
    }

    @Test func aCodeNamingAKeyTheHubDoesNotHoldIsUnknownKey() throws {
        let verdict = try #require(check(try code(key: "retired-2024")))
        #expect(!verdict.valid && verdict.reason == .unknownKey && verdict.keyId == "retired-2024")
    }

    @Test func aBrokenCodeIsMalformed() throws {
        let genuine = try code()
        for broken in [
            "SHP1.", "SHP1.shop-2026.ORD-1.notanumber.AAAAAAAAAAAAAAAA." + String(repeating: "A", count: 86),
            String(genuine.dropLast(3)), genuine + ".extra",
            genuine.replacingOccurrences(of: "ORD-1001", with: "ORD 1001"),
            "SHP1.Shop.ORD-1.1.AAAAAAAAAAAAAAAA." + String(repeating: "A", count: 86),
        ] {
            #expect(check(broken)?.reason == .malformed, "\(broken)")
        }
    }

    @Test func aGenuineCodeOfAnOrderHandedOverIsAlreadyCollected() throws {
        let verdict = try #require(check(try code(), collected: ["ORD-1001"]))
        #expect(!verdict.valid && verdict.reason == .alreadyCollected && verdict.orderId == "ORD-1001")
        // A forged code never learns whether an order was collected.
        #expect(check(try code(privateKey: other.privateKey), collected: ["ORD-1001"])?.reason == .forged)
    }

    @Test func keysRotate() throws {
        let rotated = try PickupVerifier(
            PickupSettings(keys: [
                .init(id: "shop-2026", publicKey: signing.publicKey),
                .init(id: "shop-2027", publicKey: other.publicKey),
            ]))
        let old = try code()
        let new = try code(key: "shop-2027", privateKey: other.privateKey)
        #expect(rotated.check(old, now: now, collected: { _ in false })?.valid == true)
        #expect(rotated.check(new, now: now, collected: { _ in false })?.valid == true)
    }
}
