import Foundation
import HubCore

/// Turns decoded bytes into text and retail numbers.
package enum Payload {
    /// UTF-8 when the bytes are valid UTF-8, else ISO-8859-1 (every byte is a code point), never mojibake.
    ///
    /// QR codes are the exception: zbar hands over Kanji-mode segments as Shift-JIS bytes, so QR bytes that are
    /// not UTF-8 but are plausible Shift-JIS (see `looksLikeShiftJIS`) are decoded as Shift-JIS.
    package static func text(_ bytes: [UInt8], symbology: Symbology? = nil) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        if symbology == .qr || symbology == .microqr, looksLikeShiftJIS(bytes),
            let text = String(bytes: bytes, encoding: .shiftJIS)
        {
            return text
        }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    /// Whether the bytes read as Shift-JIS text of the kind a QR Kanji segment holds, and not as ISO-8859-1 text.
    ///
    /// Every byte is printable ASCII or part of a double-byte character in the QR Kanji ranges (first byte
    /// 0x81–0x9F or 0xE0–0xEB, second byte 0x40–0xFC except 0x7F), and at least one first byte is 0x81–0x9F:
    /// those are control characters in ISO-8859-1, so no Latin text has them, while kana, punctuation and the
    /// common kanji all start there. A Latin-1 word such as "Désirée" (0xE9 then a letter) stays Latin-1.
    package static func looksLikeShiftJIS(_ bytes: [UInt8]) -> Bool {
        var index = 0
        var sawControlLead = false
        var sawDoubleByte = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x09 || byte == 0x0A || byte == 0x0D || (0x20...0x7E).contains(byte) {
                index += 1
                continue
            }
            guard (0x81...0x9F).contains(byte) || (0xE0...0xEB).contains(byte), index + 1 < bytes.count else {
                return false
            }
            let trail = bytes[index + 1]
            guard (0x40...0xFC).contains(trail), trail != 0x7F else { return false }
            sawDoubleByte = true
            if byte <= 0x9F { sawControlLead = true }
            index += 2
        }
        return sawDoubleByte && sawControlLead
    }

    /// Whether the last digit of `digits` is the GS1 check digit of the others.
    package static func hasValidCheckDigit(_ digits: String) -> Bool { GTIN.hasValidCheckDigit(digits) }

    /// The GTIN-13 for an EAN/UPC payload, or nil when it is malformed or its check digit is wrong.
    package static func gtin13(symbology: Symbology, digits: String) -> String? {
        let candidate: String
        switch symbology {
        case .ean13 where digits.utf8.count == 13: candidate = digits
        case .upca where digits.utf8.count == 12: candidate = "0" + digits
        case .upca where digits.utf8.count == 13: candidate = digits
        case .ean8 where digits.utf8.count == 8: candidate = "00000" + digits
        case .upce:
            guard let upca = expandUPCE(digits) else { return nil }
            candidate = "0" + upca
        default: return nil
        }
        return hasValidCheckDigit(candidate) ? candidate : nil
    }

    /// Expands an 8-digit UPC-E (number system, six digits, check digit) into its 12-digit UPC-A.
    package static func expandUPCE(_ digits: String) -> String? {
        let d = Array(digits.utf8.map { Character(Unicode.Scalar($0)) })
        guard d.count == 8, d.allSatisfy(\.isASCII), d.allSatisfy(\.isNumber), d[0] == "0" || d[0] == "1" else {
            return nil
        }
        let m = d[1...6].map { String($0) }
        let body: String
        switch d[6] {
        case "0", "1", "2": body = m[0] + m[1] + m[5] + "0000" + m[2] + m[3] + m[4]
        case "3": body = m[0] + m[1] + m[2] + "00000" + m[3] + m[4]
        case "4": body = m[0] + m[1] + m[2] + m[3] + "00000" + m[4]
        default: body = m[0] + m[1] + m[2] + m[3] + m[4] + "0000" + m[5]
        }
        return String(d[0]) + body + String(d[7])
    }
}
