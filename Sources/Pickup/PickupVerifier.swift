import Config
import Crypto
import Foundation
import HubCore

/// Checks signed pickup codes (docs/pickup.md) against the order service's public keys, offline.
///
/// Pure: the caller says whether the order was already handed over, so the verifier needs no storage.
package struct PickupVerifier: Sendable {
    /// Raw 32-byte public keys by id (swift-crypto's key type is not Sendable; making one from bytes is cheap).
    private let keys: [String: [UInt8]]

    /// Fails when a key is not a 32-byte Ed25519 public key (the config loader has checked that already).
    package init(_ settings: PickupSettings) throws {
        var keys: [String: [UInt8]] = [:]
        for key in settings.keys {
            guard let raw = Base64URL.decode(key.publicKey) else {
                throw ValidationError("pickup.keys: key \(key.id) is not base64url")
            }
            _ = try Curve25519.Signing.PublicKey(rawRepresentation: raw)
            keys[key.id] = raw
        }
        self.keys = keys
    }

    /// The verdict on a scanned text, or nil when the text does not claim to be a signed pickup code.
    ///
    /// Checks, in order: the format, the key id, the signature, whether the order was handed over already
    /// (`collected`, asked only for a genuine code), and the expiry against `now`.
    package func check(_ text: String, now: Date, collected: (String) -> Bool) -> PickupCheck? {
        guard PickupCodeFormat.claims(text) else { return nil }
        guard let code = PickupCodeFormat(text) else { return PickupCheck(valid: false, reason: .malformed) }
        guard let raw = keys[code.keyID], let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            return PickupCheck(valid: false, keyId: code.keyID, reason: .unknownKey)
        }
        guard key.isValidSignature(code.signature, for: code.signedPart) else {
            return PickupCheck(valid: false, keyId: code.keyID, reason: .forged)
        }
        let expires = Timestamp.iso8601(Date(timeIntervalSince1970: TimeInterval(code.expires)))
        func verdict(_ reason: PickupCheck.Reason?) -> PickupCheck {
            PickupCheck(
                valid: reason == nil, orderId: code.orderID, expires: expires, keyId: code.keyID, reason: reason)
        }
        if collected(code.orderID) { return verdict(.alreadyCollected) }
        if Int64(now.timeIntervalSince1970) >= code.expires { return verdict(.expired) }
        return verdict(nil)
    }
}

/// Makes keys and signed codes: what an order service does, for set-up, tests and the demo.
package enum PickupSigner {
    /// A new key pair, base64url: the private key stays with the order service, the public one goes in hub.json.
    package static func makeKey() -> (privateKey: String, publicKey: String) {
        let key = Curve25519.Signing.PrivateKey()
        return (
            Base64URL.encode(Array(key.rawRepresentation)), Base64URL.encode(Array(key.publicKey.rawRepresentation))
        )
    }

    /// A signed code for `orderID`, valid until `expires`, with a fresh 12-byte nonce.
    package static func sign(orderID: String, expires: Date, keyID: String, privateKey: String) throws -> String {
        guard PickupCodeFormat.isKeyID(keyID) else { throw ValidationError("key id: 1 to 32 of a-z 0-9 -") }
        guard PickupCodeFormat.isOrderID(orderID) else { throw ValidationError("order id: 1 to 64 of A-Z a-z 0-9 - _") }
        guard let raw = Base64URL.decode(privateKey), raw.count == 32 else {
            throw ValidationError("private key: expected 32 bytes, base64url")
        }
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        var generator = SystemRandomNumberGenerator()
        let nonce = (0..<12).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let signed = PickupCodeFormat.signedText(
            keyID: keyID, orderID: orderID, expires: Int64(expires.timeIntervalSince1970.rounded(.down)), nonce: nonce)
        let signature = try key.signature(for: Array(signed.utf8))
        return signed + "." + Base64URL.encode(Array(signature))
    }
}
