import HubCore

/// A GS1 element string that does not parse: what was wrong and at which byte.
package struct GS1Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, for staff and logs.
    package var message: String
    /// Byte offset into the element string.
    package var offset: Int

    package init(_ message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    package var description: String { "GS1 element string at byte \(offset): \(message)" }
}

/// Parses GS1 element strings (GS1-128, GS1 QR and DataMatrix, DataBar) into application identifiers.
///
/// Element strings are AI, value, AI, value...; an AI with a variable-length value is ended by the group
/// separator GS (0x1D, FNC1 in the symbol) unless it is the last one. AIs with a predefined length need no
/// separator. A leading symbology identifier (`]C1`, `]Q3`, `]d2`, `]e0`) or FNC1 is skipped.
package enum GS1 {
    /// The group separator that ends a variable-length value.
    package static let groupSeparator: UInt8 = 0x1D

    /// How a value is written: `n` digits only, `an` GS1's printable subset (ASCII 0x21–0x7E here).
    enum Charset { case numeric, alphanumeric }

    struct Definition {
        /// Digits of the AI itself.
        var aiLength: Int
        var minLength: Int
        var maxLength: Int
        var charset: Charset
        /// Digits that carry a GS1 mod-10 check digit at their end (GTIN, SSCC, GLN).
        var checkDigit = false
        /// YYMMDD dates (day 00 means the whole month).
        var date = false
        var isFixed: Bool { minLength == maxLength }
    }

    /// The AI definition for the digits at the start of `digits`, or nil for an unknown AI.
    static func definition(_ digits: [UInt8]) -> Definition? {
        func code(_ count: Int) -> Int? {
            guard digits.count >= count else { return nil }
            var value = 0
            for digit in digits.prefix(count) {
                guard (0x30...0x39).contains(digit) else { return nil }
                value = value * 10 + Int(digit - 0x30)
            }
            return value
        }
        guard let two = code(2) else { return nil }
        func fixed(_ ai: Int, _ length: Int, _ charset: Charset = .numeric, check: Bool = false, date: Bool = false)
            -> Definition
        {
            Definition(
                aiLength: ai, minLength: length, maxLength: length, charset: charset, checkDigit: check, date: date)
        }
        func variable(_ ai: Int, _ max: Int, _ charset: Charset = .alphanumeric, min: Int = 1) -> Definition {
            Definition(aiLength: ai, minLength: min, maxLength: max, charset: charset)
        }
        switch two {
        case 0: return fixed(2, 18, check: true)
        case 1, 2, 3: return fixed(2, 14, check: two != 3)
        case 10: return variable(2, 20)
        case 11, 12, 13, 15, 16, 17: return fixed(2, 6, date: true)
        case 20: return fixed(2, 2)
        case 21, 22: return variable(2, 20)
        case 30, 37: return variable(2, 8, .numeric)
        case 90: return variable(2, 30)
        case 91...99: return variable(2, 90)
        case 23, 24, 25, 40, 42, 70, 71:
            guard let three = code(3) else { return nil }
            switch three {
            case 235: return variable(3, 28)
            case 240, 241, 250, 251, 400, 401, 403: return variable(3, 30)
            case 242: return variable(3, 6, .numeric)
            case 243, 254, 420: return variable(3, 20)
            case 253: return variable(3, 30, min: 13)
            case 255: return variable(3, 25, .numeric, min: 13)
            case 402: return fixed(3, 17, check: true)
            case 421: return variable(3, 12, min: 3)
            case 422, 424, 426: return fixed(3, 3)
            case 423, 425: return variable(3, 15, .numeric, min: 3)
            case 427: return variable(3, 3)
            case 710...716: return variable(3, 20)
            default: break
            }
            guard two == 70, let four = code(4) else { return nil }
            switch four {
            case 7001: return fixed(4, 13)
            case 7002, 7023: return variable(4, 30)
            case 7003: return fixed(4, 10)
            case 7004: return variable(4, 4, .numeric)
            case 7005, 7007: return variable(4, 12)
            case 7006: return fixed(4, 6, date: true)
            case 7008: return variable(4, 3)
            case 7009: return variable(4, 10)
            case 7010: return variable(4, 2)
            case 7020, 7021, 7022: return variable(4, 20)
            case 7030...7039: return variable(4, 30, min: 3)
            default: return nil
            }
        case 31, 32, 33, 34, 35, 36:
            // 31nx–36nx: measures, six digits with x decimals.
            guard code(4) != nil else { return nil }
            return fixed(4, 6)
        case 39:
            guard let four = code(4) else { return nil }
            switch four / 10 {
            case 390, 392: return variable(4, 15, .numeric)
            case 391, 393: return variable(4, 18, .numeric, min: 3)
            case 394: return fixed(4, 4)
            case 395: return fixed(4, 6)
            default: return nil
            }
        case 41:
            guard let three = code(3), (410...417).contains(three) else { return nil }
            return fixed(3, 13, check: true)
        case 80, 81, 82:
            guard let four = code(4) else { return nil }
            switch four {
            case 8001: return fixed(4, 14)
            case 8002, 8012: return variable(4, 20)
            case 8003: return variable(4, 30, min: 14)
            case 8004, 8010: return variable(4, 30)
            case 8005: return fixed(4, 6)
            case 8006, 8017, 8018, 8026: return fixed(4, 18)
            case 8007: return variable(4, 34)
            case 8008: return variable(4, 12, .numeric, min: 8)
            case 8011: return variable(4, 12, .numeric)
            case 8013, 8020: return variable(4, 25)
            case 8019: return variable(4, 10, .numeric)
            case 8110, 8112, 8200: return variable(4, 70)
            case 8111: return fixed(4, 4)
            default: return nil
            }
        default:
            return nil
        }
    }

    /// Splits an element string into its AIs and values. Throws for an unknown AI, a value of the wrong length
    /// or character set, a bad check digit or date, or a separator where none may be.
    package static func parse(_ bytes: [UInt8]) throws(GS1Error) -> [GS1Element] {
        var index = 0
        if bytes.count >= 3, bytes[0] == UInt8(ascii: "]") { index = 3 }
        while index < bytes.count, bytes[index] == groupSeparator { index += 1 }
        guard index < bytes.count else { throw GS1Error("no application identifier", offset: index) }
        var elements: [GS1Element] = []
        while index < bytes.count {
            let rest = Array(bytes[index...])
            guard let definition = definition(rest) else {
                let shown = String(decoding: rest.prefix(4).filter { (0x21...0x7E).contains($0) }, as: UTF8.self)
                throw GS1Error("unknown application identifier '\(shown)'", offset: index)
            }
            let ai = String(decoding: rest.prefix(definition.aiLength), as: UTF8.self)
            let valueStart = index + definition.aiLength
            var valueEnd: Int
            if definition.isFixed {
                valueEnd = valueStart + definition.maxLength
                guard valueEnd <= bytes.count else {
                    throw GS1Error(
                        "AI \(ai) needs \(definition.maxLength) characters, found \(bytes.count - valueStart)",
                        offset: valueStart)
                }
            } else {
                valueEnd = valueStart
                while valueEnd < bytes.count && bytes[valueEnd] != groupSeparator { valueEnd += 1 }
                let length = valueEnd - valueStart
                guard length >= definition.minLength && length <= definition.maxLength else {
                    throw GS1Error(
                        "AI \(ai) takes \(definition.minLength) to \(definition.maxLength) characters, found \(length)"
                            + (length > definition.maxLength ? " (missing group separator?)" : ""),
                        offset: valueStart)
                }
            }
            let value = Array(bytes[valueStart..<valueEnd])
            try check(value, definition, ai: ai, offset: valueStart)
            elements.append(GS1Element(ai: ai, value: String(decoding: value, as: UTF8.self)))
            index = valueEnd
            // A separator after a fixed-length value is allowed (some encoders write one); two in a row are not.
            if index < bytes.count && bytes[index] == groupSeparator {
                index += 1
                guard index < bytes.count else { break }
                if bytes[index] == groupSeparator { throw GS1Error("two group separators in a row", offset: index) }
            }
        }
        return elements
    }

    private static func check(_ value: [UInt8], _ definition: Definition, ai: String, offset: Int) throws(GS1Error) {
        for (position, byte) in value.enumerated() {
            switch definition.charset {
            case .numeric:
                guard (0x30...0x39).contains(byte) else {
                    throw GS1Error("AI \(ai) takes digits only", offset: offset + position)
                }
            case .alphanumeric:
                guard (0x21...0x7E).contains(byte) else {
                    throw GS1Error(
                        "AI \(ai) has a character outside GS1's set (byte 0x\(String(byte, radix: 16)))",
                        offset: offset + position)
                }
            }
        }
        if definition.checkDigit, !Payload.hasValidCheckDigit(String(decoding: value, as: UTF8.self)) {
            throw GS1Error("AI \(ai) check digit is wrong", offset: offset + value.count - 1)
        }
        if definition.date {
            let digits = value.map { Int($0) - 48 }
            let month = digits[2] * 10 + digits[3]
            let day = digits[4] * 10 + digits[5]
            guard (1...12).contains(month), (0...31).contains(day) else {
                throw GS1Error("AI \(ai) is not a YYMMDD date", offset: offset)
            }
        }
    }
}
