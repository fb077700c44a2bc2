import Foundation
import HubCore

/// `pickup` in hub.json: the order service's public keys, with which the hub checks signed pickup codes itself
/// (docs/pickup.md). Absent: codes are not checked and scans carry no `pickup` field.
package struct PickupSettings: Sendable, Decodable, Equatable {
    /// One Ed25519 public key and the id that codes name it by; several let keys rotate.
    package struct Key: Sendable, Decodable, Equatable {
        package var id: String
        /// The 32-byte public key, base64url (padding optional), as `storehub pickup keygen` prints it.
        package var publicKey: String

        package init(id: String, publicKey: String) {
            self.id = id
            self.publicKey = publicKey
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case id, publicKey }

        package init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id)
            publicKey = try c.decode(String.self, forKey: .publicKey)
            guard PickupCodeFormat.isKeyID(id) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .id, in: c, debugDescription: "a key id is 1 to 32 of a-z 0-9 -")
            }
            guard let raw = Base64URL.decode(publicKey), raw.count == 32 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .publicKey, in: c, debugDescription: "expected a 32-byte Ed25519 public key, base64url")
            }
        }
    }

    package var keys: [Key]

    package init(keys: [Key]) {
        self.keys = keys
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case keys }

    package init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        keys = try c.decode([Key].self, forKey: .keys)
        guard (1...16).contains(keys.count) else {
            throw DecodingError.dataCorruptedError(forKey: .keys, in: c, debugDescription: "expected 1 to 16 keys")
        }
        if let id = Dictionary(grouping: keys, by: \.id).first(where: { $0.value.count > 1 })?.key {
            throw DecodingError.dataCorruptedError(
                forKey: .keys, in: c, debugDescription: "two keys have the id \"\(id)\"; ids must be unique")
        }
    }
}
