import Foundation

/// The text form of a signed pickup code, `SHP1.<keyId>.<orderId>.<expires>.<nonce>.<signature>` (docs/pickup.md).
/// Parsing only; signatures are checked by the `Pickup` module.
package struct PickupCodeFormat: Sendable, Equatable {
    package static let prefix = "SHP1."

    package var keyID: String
    package var orderID: String
    /// Unix time, seconds.
    package var expires: Int64
    package var nonce: [UInt8]
    package var signature: [UInt8]
    /// The signed bytes: the code up to (not including) the dot before the signature.
    package var signedPart: [UInt8]

    /// Whether `text` claims to be a signed pickup code (its prefix); such a scan always gets a `pickup` verdict.
    package static func claims(_ text: String) -> Bool { text.hasPrefix(prefix) }

    /// Parses a code; nil when it is not well formed.
    package init?(_ text: String) {
        guard Self.claims(text), text.utf8.count <= 256 else { return nil }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 6, Self.isKeyID(parts[1]), Self.isOrderID(parts[2]),
            parts[3].count <= 12, parts[3].allSatisfy({ $0.isASCII && $0.isNumber }), let expires = Int64(parts[3]),
            let nonce = Base64URL.decode(parts[4]), (8...32).contains(nonce.count),
            let signature = Base64URL.decode(parts[5]), signature.count == 64
        else { return nil }
        keyID = String(parts[1])
        orderID = String(parts[2])
        self.expires = expires
        self.nonce = nonce
        self.signature = signature
        signedPart = Array(parts[0...4].joined(separator: ".").utf8)
    }

    /// The text that is signed, for the signing side.
    package static func signedText(keyID: String, orderID: String, expires: Int64, nonce: [UInt8]) -> String {
        "\(prefix)\(keyID).\(orderID).\(expires).\(Base64URL.encode(nonce))"
    }

    /// Key ids: 1 to 32 of `a-z 0-9 -`.
    package static func isKeyID<S: StringProtocol>(_ text: S) -> Bool {
        (1...32).contains(text.utf8.count)
            && text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }

    /// Order ids: 1 to 64 of `A-Z a-z 0-9 - _`.
    package static func isOrderID<S: StringProtocol>(_ text: S) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { c in
                (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2D
                    || c == 0x5F
            }
    }
}

/// `pickup` in a scan event: the hub's verdict on a signed pickup code.
package struct PickupCheck: Sendable, Codable, Equatable {
    /// Why a code is not valid.
    package enum Reason: String, Sendable, Codable, CaseIterable {
        case malformed, unknownKey, forged, expired, alreadyCollected
    }

    package var valid: Bool
    /// Only when the signature was checked: the order, the expiry (ISO 8601) and the key.
    package var orderId: String?
    package var expires: String?
    package var keyId: String?
    package var reason: Reason?

    package init(valid: Bool, orderId: String? = nil, expires: String? = nil, keyId: String? = nil, reason: Reason?) {
        self.valid = valid
        self.orderId = orderId
        self.expires = expires
        self.keyId = keyId
        self.reason = reason
    }
}

/// base64url without padding (RFC 4648 §5), as pickup codes and keys are written.
package enum Base64URL {
    package static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Nil for anything but base64url (padding optional).
    package static func decode<S: StringProtocol>(_ text: S) -> [UInt8]? {
        var body = Substring(text)
        while body.last == "=" { body = body.dropLast() }
        guard text.count - body.count <= 2,
            body.utf8.allSatisfy({ c in
                (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2D
                    || c == 0x5F
            })
        else { return nil }
        var standard = body.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard.append("=") }
        return Data(base64Encoded: standard).map(Array.init)
    }
}
