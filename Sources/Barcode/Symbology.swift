import CZBar
import CZXing

/// A barcode symbology, named as StoreHub's configs and events name it.
///
/// zbar reads the first twelve; DataMatrix, PDF417, Aztec and Micro QR only zxing-cpp reads (`engines`).
package enum Symbology: String, Sendable, CaseIterable, Codable {
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
    case datamatrix
    case pdf417
    case aztec
    case microqr

    /// zbar's name for the symbology; nil for those zbar cannot read.
    var zbarType: zbar_symbol_type_t? {
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
        case .datamatrix, .pdf417, .aztec, .microqr: nil
        }
    }

    /// zxing-cpp's format bit for the symbology.
    var zxingFormat: UInt32 {
        switch self {
        case .qr: storehub_zxing_qrcode
        case .ean13: storehub_zxing_ean13
        case .ean8: storehub_zxing_ean8
        case .upca: storehub_zxing_upca
        case .upce: storehub_zxing_upce
        case .code128: storehub_zxing_code128
        case .code39: storehub_zxing_code39
        case .code93: storehub_zxing_code93
        case .i25: storehub_zxing_itf
        case .codabar: storehub_zxing_codabar
        case .databar: storehub_zxing_databar
        case .databarExpanded: storehub_zxing_databar_expanded
        case .datamatrix: storehub_zxing_datamatrix
        case .pdf417: storehub_zxing_pdf417
        case .aztec: storehub_zxing_aztec
        case .microqr: storehub_zxing_microqrcode
        }
    }

    init?(zxing format: UInt32) {
        guard let match = Symbology.allCases.first(where: { $0.zxingFormat == format }) else { return nil }
        self = match
    }

    /// Whether only zxing-cpp reads the symbology.
    package var needsZXing: Bool { zbarType == nil }

    /// Whether StoreHub lets zxing-cpp read the symbology: QR and the 2D codes only. Debian's libzxing 1.4.0 is
    /// built with assertions on, and its 1D reader aborts the process on some frames (`Result::operator==`,
    /// "lineCount() == 1", seen on a Code 128 of the decode corpus); zbar reads 1D codes.
    package var zxingReads: Bool { self == .qr || needsZXing }

    /// EAN and UPC: digits with a GS1 check digit, normalised to GTIN-13.
    package var isRetail: Bool { [.ean13, .ean8, .upca, .upce].contains(self) }

    init?(zbar type: zbar_symbol_type_t) {
        guard let match = Symbology.allCases.first(where: { $0.zbarType == type }) else { return nil }
        self = match
    }

    /// Parses configured names; the error lists the names that are known.
    package static func parse(_ names: [String]) throws(SymbologyError) -> [Symbology] {
        try names.map { name throws(SymbologyError) in
            guard let symbology = Symbology(rawValue: name) else { throw SymbologyError(name: name) }
            return symbology
        }
    }
}

/// A configured symbology name that StoreHub does not know.
package struct SymbologyError: Error, Sendable, CustomStringConvertible {
    package var name: String
    package var description: String {
        "unknown symbology '\(name)' (known: \(Symbology.allCases.map(\.rawValue).joined(separator: ", ")))"
    }
}
