/// Turns decoded bytes into text and retail numbers.
public enum Payload {
    /// UTF-8 when the bytes are valid UTF-8, else ISO-8859-1 (every byte is a code point), never mojibake.
    public static func text(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    /// Whether the last digit of `digits` is the GS1 check digit of the others.
    public static func hasValidCheckDigit(_ digits: String) -> Bool {
        let values = digits.utf8.map { Int($0) - 48 }
        guard values.count >= 2, values.allSatisfy({ (0...9).contains($0) }) else { return false }
        var sum = 0
        // Weights 3,1,3,... from the rightmost digit before the check digit.
        for (offset, value) in values.dropLast().reversed().enumerated() {
            sum += value * (offset % 2 == 0 ? 3 : 1)
        }
        return (10 - sum % 10) % 10 == values.last!
    }

    /// The GTIN-13 for an EAN/UPC payload, or nil when it is malformed or its check digit is wrong.
    public static func gtin13(symbology: Symbology, digits: String) -> String? {
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
    public static func expandUPCE(_ digits: String) -> String? {
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
