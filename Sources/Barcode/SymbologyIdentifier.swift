/// AIM symbology identifiers (ISO/IEC 15424): `]`, a code character for the symbology, a modifier.
package enum SymbologyIdentifier {
    /// The identifier of a symbol without ECI, as zbar reads it (zbar reports no identifier of its own).
    package static func plain(for symbology: Symbology, gs1: Bool) -> String {
        switch symbology {
        case .qr: gs1 ? "]Q3" : "]Q1"
        case .microqr: "]Q1"
        case .ean13, .upca, .upce: "]E0"
        case .ean8: "]E4"
        case .code128: gs1 ? "]C1" : "]C0"
        case .code39: "]A0"
        case .code93: "]G0"
        case .i25: "]I0"
        case .codabar: "]F0"
        case .databar, .databarExpanded: "]e0"
        case .datamatrix: gs1 ? "]d2" : "]d1"
        case .pdf417: "]L2"
        case .aztec: gs1 ? "]z1" : "]z0"
        }
    }

    /// Whether the identifier marks a GS1 element string: `]C1` GS1-128, `]Q3`/`]Q4` GS1 QR, `]d2`/`]d5` GS1
    /// DataMatrix, `]z1`/`]z4` GS1 Aztec, and DataBar (`]e`), which only carries GS1 data.
    package static func marksGS1(_ identifier: String) -> Bool {
        switch identifier {
        case "]C1", "]Q3", "]Q4", "]d2", "]d5", "]z1", "]z4": true
        default: identifier.hasPrefix("]e")
        }
    }

    /// The identifier of the same symbol when it carries an ECI designator: the modifier moves by the symbology's
    /// offset (DataMatrix and Aztec +3, QR +1, PDF417 `]L2` becomes `]L1`).
    package static func withECI(_ identifier: String) -> String {
        let bytes = Array(identifier.utf8)
        guard bytes.count == 3, bytes[0] == UInt8(ascii: "]") else { return identifier }
        let offset: Int
        switch bytes[1] {
        case UInt8(ascii: "d"), UInt8(ascii: "z"): offset = 3
        case UInt8(ascii: "Q"): offset = 1
        case UInt8(ascii: "L"): offset = -1
        default: return identifier
        }
        guard let value = Int(String(UnicodeScalar(bytes[2])), radix: 16), (0...15).contains(value + offset) else {
            return identifier
        }
        return "]" + String(UnicodeScalar(bytes[1])) + String(value + offset, radix: 16, uppercase: true)
    }
}
