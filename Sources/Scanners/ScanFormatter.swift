import Barcode
import Config
import Foundation
import HubCore

/// A complete scan read from a scanner, ready to become a `storehub.scan` event.
package struct ScannerRead: Sendable, Equatable {
    package var symbology: String
    package var bytes: [UInt8]
    package var text: String
    /// GTIN-13 for EAN/UPC payloads with a right check digit.
    package var gtin: String?
    /// When the scan ended (its terminator, or its last character).
    package var endTime: Date
    /// The AIM identifier said the payload is a GS1 element string (GS1-128, GS1 QR, GS1 DataMatrix, DataBar).
    package var isGS1: Bool

    package init(symbology: String, bytes: [UInt8], text: String, gtin: String?, endTime: Date, isGS1: Bool = false) {
        self.symbology = symbology
        self.bytes = bytes
        self.text = text
        self.gtin = gtin
        self.endTime = endTime
        self.isGS1 = isGS1
    }
}

/// Input that was read but is not a scan. `message` says what was wrong, never what the input held.
package struct ScannerProblem: Sendable, Equatable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable {
        /// Cut short or running on: a partial scan, an over-long line. Counted as `scansDropped`.
        case incomplete
        /// Unreadable: noise, non-printable bytes, a wrong baud rate. Counted as `errors`.
        case unreadable
    }

    package var kind: Kind
    package var message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }
}

/// What a scanner source delivers.
package enum ScannerOutput: Sendable, Equatable {
    case scan(ScannerRead)
    case dropped(ScannerProblem)
}

/// Input between two terminators, before prefix, suffix and AIM identifier are taken off.
package enum AssembledInput: Sendable, Equatable {
    case complete([UInt8], at: Date)
    case dropped(ScannerProblem)
}

/// Turns a scanner's raw input into a scan: strips the configured prefix and suffix, reads the AIM symbology
/// identifier when the scanner sends them, and fills in the GTIN for EAN/UPC payloads.
package struct ScanFormatter: Sendable {
    package var prefix: [UInt8]
    package var suffix: [UInt8]
    package var aimIdentifiers: Bool
    /// Reported when no AIM identifier says otherwise.
    package var symbology: String

    package init(prefix: String = "", suffix: String = "", aimIdentifiers: Bool = false, symbology: String = "unknown")
    {
        self.prefix = Array(prefix.utf8)
        self.suffix = Array(suffix.utf8)
        self.aimIdentifiers = aimIdentifiers
        self.symbology = symbology
    }

    package init(_ settings: ScannerSettings) {
        self.init(
            prefix: settings.prefix, suffix: settings.suffix, aimIdentifiers: settings.aimIdentifiers,
            symbology: settings.symbology)
    }

    /// The scan, or why this input is not one.
    package func format(_ input: AssembledInput) -> ScannerOutput {
        switch input {
        case .dropped(let problem): return .dropped(problem)
        case .complete(let raw, let time):
            var bytes = raw[...]
            if !prefix.isEmpty, bytes.starts(with: prefix) { bytes = bytes.dropFirst(prefix.count) }
            if !suffix.isEmpty, bytes.count >= suffix.count, bytes.suffix(suffix.count).elementsEqual(suffix) {
                bytes = bytes.dropLast(suffix.count)
            }
            var symbology = self.symbology
            var isGS1 = symbology == "gs1-128"
            if aimIdentifiers {
                guard let identifier = AIMIdentifier(Array(bytes.prefix(3))) else {
                    return .dropped(
                        ScannerProblem(
                            .unreadable,
                            "scan without an AIM symbology identifier (expected ]cm first, e.g. ]E0); "
                                + "turn AIM identifiers on in the scanner or aimIdentifiers off in the descriptor"))
                }
                bytes = bytes.dropFirst(3)
                symbology = identifier.symbology(payloadLength: bytes.count)
                isGS1 = identifier.isGS1
            }
            guard !bytes.isEmpty else {
                return .dropped(ScannerProblem(.unreadable, "empty scan (only prefix, suffix or identifier)"))
            }
            let payload = Array(bytes)
            return .scan(
                ScannerRead(
                    symbology: symbology, bytes: payload, text: Payload.text(payload),
                    gtin: Self.gtin(symbology: symbology, payload), endTime: time, isGS1: isGS1))
        }
    }

    /// GTIN-13 of an EAN/UPC payload; an EAN-13 with an add-on (`]E3`) uses its first 13 digits.
    static func gtin(symbology name: String, _ payload: [UInt8]) -> String? {
        guard let symbology = Symbology(rawValue: name), payload.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return nil
        }
        let digits = String(decoding: payload, as: UTF8.self)
        if let gtin = Payload.gtin13(symbology: symbology, digits: digits) { return gtin }
        if symbology == .ean13, digits.count == 15 || digits.count == 18 {
            return Payload.gtin13(symbology: .ean13, digits: String(digits.prefix(13)))
        }
        return nil
    }
}

/// An AIM symbology identifier, `]` + code character + modifier, which scanners can send before each payload
/// (ISO/IEC 15424). The code character names the symbology; the modifier refines it.
package struct AIMIdentifier: Sendable, Equatable {
    package var code: Character
    package var modifier: Character

    /// Parses the first three bytes; nil when they are not an identifier.
    package init?(_ bytes: [UInt8]) {
        guard bytes.count == 3, bytes[0] == UInt8(ascii: "]"),
            bytes[1] < 0x80, Character(Unicode.Scalar(bytes[1])).isLetter,
            bytes[2] < 0x80,
            Character(Unicode.Scalar(bytes[2])).isLetter || Character(Unicode.Scalar(bytes[2])).isNumber
        else { return nil }
        code = Character(Unicode.Scalar(bytes[1]))
        modifier = Character(Unicode.Scalar(bytes[2]))
    }

    /// GS1 element strings by ISO/IEC 15424: `]C1` GS1-128, `]Q3` GS1 QR, `]d2` GS1 DataMatrix, and DataBar
    /// (`]e`), which only carries GS1 data.
    package var isGS1: Bool {
        switch (code, modifier) {
        case ("C", "1"), ("Q", "3"), ("Q", "4"), ("d", "2"), ("d", "5"), ("e", _): return true
        default: return false
        }
    }

    /// The StoreHub symbology name. EAN/UPC (`E`) is told apart by modifier and payload length, because
    /// `]E0` covers EAN-13, UPC-A and UPC-E alike.
    package func symbology(payloadLength: Int) -> String {
        switch (code, modifier) {
        case ("E", "4"): return "ean8"
        case ("E", "0"), ("E", "3"):
            switch payloadLength {
            case 12: return "upca"
            case 8: return "upce"
            default: return "ean13"
            }
        case ("E", _): return "ean-addon"
        case ("C", "1"): return "gs1-128"
        case ("C", _): return "code128"
        case ("Q", _): return "qr"
        case ("d", _): return "datamatrix"
        case ("A", _): return "code39"
        case ("G", _): return "code93"
        case ("I", _): return "i25"
        case ("F", _): return "codabar"
        case ("e", _): return "databar"
        case ("L", _): return "pdf417"
        case ("z", _): return "aztec"
        case ("U", _): return "maxicode"
        case ("H", _): return "code11"
        case ("M", _): return "msi"
        case ("S", _), ("R", _): return "2of5"
        default: return "unknown"
        }
    }

    /// Every name `symbology(payloadLength:)` can give, plus `unknown`: what `scanner.symbology` may be set to.
    package static let symbologyNames: Set<String> = [
        "unknown", "ean13", "ean8", "upca", "upce", "ean-addon", "gs1-128", "code128", "qr", "datamatrix", "code39",
        "code93", "i25", "codabar", "databar", "databar-exp", "pdf417", "aztec", "maxicode", "code11", "msi", "2of5",
    ]
}
