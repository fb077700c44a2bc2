import CZBar

/// A barcode symbology, named as StoreHub's configs and events name it.
public enum Symbology: String, Sendable, CaseIterable, Codable {
    case qr
    case ean13
    case ean8
    case upca
    case upce
    case code128
    case code39
    case code93
    case i25
    case codabar
    case databar
    case databarExpanded = "databar-exp"

    var zbarType: zbar_symbol_type_t {
        switch self {
        case .qr: ZBAR_QRCODE
        case .ean13: ZBAR_EAN13
        case .ean8: ZBAR_EAN8
        case .upca: ZBAR_UPCA
        case .upce: ZBAR_UPCE
        case .code128: ZBAR_CODE128
        case .code39: ZBAR_CODE39
        case .code93: ZBAR_CODE93
        case .i25: ZBAR_I25
        case .codabar: ZBAR_CODABAR
        case .databar: ZBAR_DATABAR
        case .databarExpanded: ZBAR_DATABAR_EXP
        }
    }

    init?(zbar type: zbar_symbol_type_t) {
        guard let match = Symbology.allCases.first(where: { $0.zbarType == type }) else { return nil }
        self = match
    }

    /// Parses configured names; the error lists the names that are known.
    public static func parse(_ names: [String]) throws(SymbologyError) -> [Symbology] {
        try names.map { name throws(SymbologyError) in
            guard let symbology = Symbology(rawValue: name) else { throw SymbologyError(name: name) }
            return symbology
        }
    }
}

/// A configured symbology name that StoreHub does not know.
public struct SymbologyError: Error, Sendable, CustomStringConvertible {
    public var name: String
    public var description: String {
        "unknown symbology '\(name)' (known: \(Symbology.allCases.map(\.rawValue).joined(separator: ", ")))"
    }
}
