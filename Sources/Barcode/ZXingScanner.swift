import CZXing
import HubCore

/// zxing-cpp (Debian's libzxing 1.4.0, through the CZXing shim) over a frame's luma plane, for one pipeline
/// (not thread-safe).
///
/// It reads what zbar cannot (DataMatrix, PDF417, Aztec, Micro QR) and, where the measurements in
/// docs/decoding.md say so, QR codes too; never 1D codes (`Symbology.zxingReads` says why). Payloads follow the
/// same rules as zbar's: `bytes` exactly as encoded (ECI designators removed), `text` converted by the symbol's
/// ECI when it has one and otherwise by `Payload.text`, GS1 told by the symbology identifier.
package final class ZXingScanner {
    /// The symbologies it looks for.
    package let symbologies: [Symbology]
    private let reader: OpaquePointer

    /// `tryHarder` lets zxing-cpp also look at rotated and downscaled views of the image (its own default).
    package init(symbologies: [Symbology], tryHarder: Bool = true) throws(BarcodeError) {
        guard !symbologies.isEmpty else { throw BarcodeError("no symbologies enabled") }
        if let linear = symbologies.first(where: { !$0.zxingReads }) {
            throw BarcodeError("zxing-cpp is not used for \(linear.rawValue) (zbar reads it; see Symbology.zxingReads)")
        }
        self.symbologies = symbologies
        let formats = symbologies.reduce(UInt32(0)) { $0 | $1.zxingFormat }
        guard let reader = storehub_zxing_reader_create(formats, tryHarder ? 1 : 0) else {
            throw BarcodeError("zxing-cpp could not create a reader")
        }
        self.reader = reader
    }

    deinit { storehub_zxing_reader_destroy(reader) }

    /// Decodes every enabled symbol in the frame's luma plane (read in place, padded rows included).
    package func scan(_ frame: Frame) throws(BarcodeError) -> [DecodedSymbol] {
        guard let luma = frame.lumaPlane else { throw BarcodeError("frame format \(frame.format) has no luma plane") }
        let count = storehub_zxing_read(
            reader, luma.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(frame.width), Int32(frame.height),
            Int32(frame.bytesPerRow))
        return try collect(count, width: frame.width, height: frame.height)
    }

    /// Decodes every enabled symbol in a packed grey image; polygons are in the image's pixels.
    package func scan(_ image: LumaImage) throws(BarcodeError) -> [DecodedSymbol] {
        let count = image.pixels.withUnsafeBufferPointer { pixels in
            storehub_zxing_read(
                reader, pixels.baseAddress!, Int32(image.width), Int32(image.height), Int32(image.width))
        }
        return try collect(count, width: image.width, height: image.height)
    }

    private func collect(_ count: Int32, width: Int, height: Int) throws(BarcodeError) -> [DecodedSymbol] {
        guard count >= 0 else {
            let reason = String(cString: storehub_zxing_reader_error(reader))
            throw BarcodeError("zxing-cpp failed on a \(width)x\(height) image: \(reason)")
        }
        var symbols: [DecodedSymbol] = []
        for index in 0..<count {
            let result = storehub_zxing_result(reader, index)
            guard let symbology = Symbology(zxing: result.format) else { continue }
            let bytes = Array(UnsafeBufferPointer(start: result.bytes, count: Int(result.byte_count)))
            let text =
                result.has_eci != 0
                ? String(
                    decoding: UnsafeRawBufferPointer(start: result.text, count: Int(result.text_length)), as: UTF8.self)
                : Payload.text(bytes, symbology: symbology)
            let identifier = Self.identifier(result)
            let corners = withUnsafeBytes(of: result.corners) { Array($0.bindMemory(to: Int32.self)) }
            let polygon = (0..<4).map { corner in
                [
                    max(0, min(width - 1, Int(corners[2 * corner]))),
                    max(0, min(height - 1, Int(corners[2 * corner + 1]))),
                ]
            }
            symbols.append(
                DecodedSymbol(
                    symbology: symbology, bytes: bytes, text: text, gtin: nil, polygon: polygon, quality: 1,
                    isGS1: SymbologyIdentifier.marksGS1(identifier), symbologyIdentifier: identifier))
        }
        return symbols
    }

    /// The AIM identifier of a result, with the ECI modifier ISO/IEC 15424 asks for: zxing-cpp 1.4.0 reports the
    /// modifier of the symbol without ECI even when it has one.
    private static func identifier(_ result: storehub_zxing_symbol) -> String {
        let raw = withUnsafeBytes(of: result.symbology_identifier) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        guard result.has_eci != 0 else { return raw }
        return SymbologyIdentifier.withECI(raw)
    }
}
