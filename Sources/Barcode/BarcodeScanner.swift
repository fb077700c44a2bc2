import CZBar
import Foundation
import HubCore

/// A code found in a frame.
package struct DecodedSymbol: Sendable, Equatable {
    /// As read (a UPC-A stays `upca`, with its GTIN-13 in `gtin`).
    package var symbology: Symbology
    package var bytes: [UInt8]
    package var text: String
    /// GTIN-13 of EAN/UPC symbols whose check digit is right.
    package var gtin: String?
    /// Corners in frame pixels.
    package var polygon: [[Int]]
    package var quality: Int
    /// The symbol starts with FNC1 (GS1-128, GS1 QR): its payload is a GS1 element string.
    package var isGS1: Bool
    /// The decode strategy that found it (`plain` when zbar read the frame as it is).
    package var strategy: DecodeStrategy
    /// The AIM symbology identifier (ISO/IEC 15424), e.g. `]Q1`, `]d2` (GS1 DataMatrix), `]L2` (PDF417).
    package var symbologyIdentifier: String

    package init(
        symbology: Symbology, bytes: [UInt8], text: String, gtin: String?, polygon: [[Int]], quality: Int,
        isGS1: Bool = false, strategy: DecodeStrategy = .plain, symbologyIdentifier: String? = nil
    ) {
        self.symbology = symbology
        self.bytes = bytes
        self.text = text
        self.gtin = gtin
        self.polygon = polygon
        self.quality = quality
        self.isGS1 = isGS1
        self.strategy = strategy
        self.symbologyIdentifier =
            symbologyIdentifier ?? SymbologyIdentifier.plain(for: symbology, gs1: isGS1)
    }
}

/// zbar's image scanner over a frame's luma plane, for one pipeline (not thread-safe).
///
/// Debian's zbar 0.23.92 grows its memory with every QR decode, so the scanner is recreated every
/// `recycleInterval` frames. QR codes are read in binary mode and their bytes decoded here, because zbar's own
/// charset guess turns UTF-8 without ECI into mojibake.
package final class BarcodeScanner {
    package let symbologies: [Symbology]
    package let recycleInterval: Int
    private var scanner: OpaquePointer
    private let image: OpaquePointer
    private var framesSinceRecycle = 0
    /// Used only when a frame's rows are padded: zbar wants tightly packed rows. Grown once, then reused.
    private var packed: [UInt8] = []
    /// EAN/UPC reads whose check digit was wrong, dropped.
    package private(set) var rejectedCheckDigits = 0
    /// UPC-E and EAN-8 reads with bars where their quiet zone should be (part of a longer code), dropped.
    package private(set) var rejectedQuietZones = 0

    package init(symbologies: [Symbology], recycleInterval: Int = 500) throws(BarcodeError) {
        guard !symbologies.isEmpty else { throw BarcodeError("no symbologies enabled") }
        if let other = symbologies.first(where: \.needsZXing) {
            throw BarcodeError("zbar cannot read \(other.rawValue); zxing-cpp reads it (ZXingScanner)")
        }
        self.symbologies = symbologies
        self.recycleInterval = recycleInterval
        guard let image = zbar_image_create() else { throw BarcodeError("zbar could not create an image") }
        self.image = image
        zbar_image_set_format(image, UInt(storehub_zbar_fourcc_y800))
        scanner = try Self.makeScanner(symbologies)
    }

    deinit {
        zbar_image_destroy(image)
        zbar_image_scanner_destroy(scanner)
    }

    private static func makeScanner(_ symbologies: [Symbology]) throws(BarcodeError) -> OpaquePointer {
        guard let scanner = zbar_image_scanner_create() else { throw BarcodeError("zbar could not create a scanner") }
        zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0)
        for case let type? in symbologies.map(\.zbarType) {
            zbar_image_scanner_set_config(scanner, type, ZBAR_CFG_ENABLE, 1)
        }
        if symbologies.contains(.qr) {
            zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_BINARY, 1)
        }
        // Position and quality come with every symbol; caching would suppress repeats the filter handles itself.
        zbar_image_scanner_enable_cache(scanner, 0)
        return scanner
    }

    /// Decodes every enabled symbol in the frame's luma plane, scanning every `lineSpacing`-th row and column
    /// (zbar's scan density; 1 is every line).
    package func scan(_ frame: Frame, lineSpacing: Int = 1) throws(BarcodeError) -> [DecodedSymbol] {
        guard let luma = frame.lumaPlane else { throw BarcodeError("frame format \(frame.format) has no luma plane") }
        try recycleIfDue()
        setLineSpacing(lineSpacing)
        defer { setLineSpacing(1) }
        let width = frame.width
        let height = frame.height
        let symbols: [DecodedSymbol]?
        if frame.bytesPerRow == width {
            symbols = scanPlane(luma.baseAddress!, width: width, height: height)
        } else {
            if packed.count < width * height { packed = [UInt8](repeating: 0, count: width * height) }
            symbols = packed.withUnsafeMutableBytes { target in
                frame.copy(luma, PixelRect(x: 0, y: 0, width: width, height: height), into: target)
                return scanPlane(UnsafeRawPointer(target.baseAddress!), width: width, height: height)
            }
        }
        guard let symbols else { throw BarcodeError("zbar failed on a \(width)x\(height) frame") }
        return symbols
    }

    /// Decodes every enabled symbol but QR codes in the frame's luma plane when `skippingQR` (another engine reads
    /// them).
    package func scan(_ frame: Frame, skippingQR: Bool, lineSpacing: Int = 1) throws(BarcodeError) -> [DecodedSymbol] {
        guard skippingQR, symbologies.contains(.qr) else { return try scan(frame, lineSpacing: lineSpacing) }
        guard symbologies != [.qr] else { return [] }
        // Recycled first, so the scanner that QR is turned off on is the one that scans.
        try recycleIfDue()
        zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 0)
        defer { zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1) }
        return try scan(frame, lineSpacing: lineSpacing)
    }

    /// Decodes every enabled symbol in a packed grey image, scanning every `lineSpacing`-th row and column;
    /// polygons are in the image's pixels.
    package func scan(_ image: LumaImage, lineSpacing: Int = 1) throws(BarcodeError) -> [DecodedSymbol] {
        try recycleIfDue()
        setLineSpacing(lineSpacing)
        defer { setLineSpacing(1) }
        let symbols = image.pixels.withUnsafeBytes { pixels in
            scanPlane(pixels.baseAddress!, width: image.width, height: image.height)
        }
        guard let symbols else { throw BarcodeError("zbar failed on a \(image.width)x\(image.height) image") }
        return symbols
    }

    /// zbar's scan density in both directions; a fresh scanner (after a recycle) starts at 1.
    private func setLineSpacing(_ spacing: Int) {
        let density = Int32(max(1, spacing))
        zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_X_DENSITY, density)
        zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_Y_DENSITY, density)
    }

    /// The symbols zbar reads in a packed plane; nil when zbar fails.
    private func scanPlane(_ pixels: UnsafeRawPointer, width: Int, height: Int) -> [DecodedSymbol]? {
        zbar_image_set_size(image, UInt32(width), UInt32(height))
        // zbar borrows the plane; no cleanup handler, the frame keeps owning it.
        zbar_image_set_data(image, pixels, UInt(width * height), nil)
        defer { zbar_image_set_data(image, nil, 0, nil) }
        framesSinceRecycle += 1
        let count = zbar_scan_image(scanner, image)
        guard count >= 0 else { return nil }
        guard count > 0 else { return [] }
        return collect(
            LinearQuietZone.Plane(pixels: pixels.assumingMemoryBound(to: UInt8.self), width: width, height: height))
    }

    private func collect(_ plane: LinearQuietZone.Plane) -> [DecodedSymbol] {
        var symbols: [DecodedSymbol] = []
        var symbol = zbar_image_first_symbol(image)
        while let current = symbol {
            defer { symbol = zbar_symbol_next(current) }
            guard let symbology = Symbology(zbar: zbar_symbol_get_type(current)) else { continue }
            let length = Int(zbar_symbol_get_data_length(current))
            let bytes: [UInt8] =
                zbar_symbol_get_data(current).map { pointer in
                    Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(pointer), count: length))
                } ?? []
            let text = Payload.text(bytes, symbology: symbology)
            var gtin: String?
            if symbology.isRetail {
                gtin = Payload.gtin13(symbology: symbology, digits: text)
                if gtin == nil {
                    rejectedCheckDigits += 1
                    continue
                }
            }
            var points: [[Int]] = []
            for index in 0..<zbar_symbol_get_loc_size(current) {
                points.append([Int(zbar_symbol_get_loc_x(current, index)), Int(zbar_symbol_get_loc_y(current, index))])
            }
            if !LinearQuietZone.holds(for: symbology, read: points, in: plane) {
                rejectedQuietZones += 1
                continue
            }
            symbols.append(
                DecodedSymbol(
                    symbology: symbology, bytes: bytes, text: text, gtin: gtin, polygon: Self.outline(points),
                    quality: Int(zbar_symbol_get_quality(current)),
                    isGS1: zbar_symbol_get_modifiers(current) & (1 << ZBAR_MOD_GS1.rawValue) != 0))
        }
        return symbols
    }

    /// zbar locates a 2D symbol by its corners but a 1D symbol by every scan line that crossed it; events
    /// carry at most four corners, so many points become their bounding rectangle.
    static func outline(_ points: [[Int]]) -> [[Int]] {
        guard points.count > 4 else { return points }
        let xs = points.map { $0[0] }
        let ys = points.map { $0[1] }
        let (left, right, top, bottom) = (xs.min()!, xs.max()!, ys.min()!, ys.max()!)
        return [[left, top], [right, top], [right, bottom], [left, bottom]]
    }

    private func recycleIfDue() throws(BarcodeError) {
        guard framesSinceRecycle >= recycleInterval else { return }
        let fresh = try Self.makeScanner(symbologies)
        zbar_image_scanner_destroy(scanner)
        scanner = fresh
        framesSinceRecycle = 0
    }
}

/// zbar could not be used.
package struct BarcodeError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
