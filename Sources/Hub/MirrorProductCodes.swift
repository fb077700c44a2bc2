import Barcode
import HubCore
import TryOn

/// Product codes held up to a mirror: a shopper shows the lipstick she holds, and the mirror selects its shade.
///
/// Reads EAN-13/UPC-A and GS1 DataMatrix codes (the GTIN is AI 01) in the mirror's frames through the kiosks'
/// decoder, with its motion gate and a small CPU share, so rendering keeps its time; a code seen again within
/// `repeatSeconds` is not a new choice. Only GTINs that a shade of the catalog lists select anything.
final class MirrorProductCodes {
    /// The symbologies on lipstick packaging.
    static let symbologies: [Symbology] = [.ean13, .upca, .datamatrix]
    private let decoder: LiveDecoder
    private let catalog: ShadeCatalog
    private var duplicates = DuplicateFilter(window: 3)

    /// Nil when no shade lists a GTIN: then there is nothing to look for.
    init?(catalog: ShadeCatalog, maxCpuShare: Double = 0.1) throws(BarcodeError) {
        guard catalog.shades.contains(where: { !$0.gtins.isEmpty }) else { return nil }
        self.catalog = catalog
        // No strategies: a code held up to a mirror is close and large; the kiosks' strategies are for the rest.
        decoder = LiveDecoder(
            reader: try BarcodeReader(symbologies: Self.symbologies, strategies: []), maxCpuShare: maxCpuShare)
    }

    /// The SKU of the shade whose GTIN is on a code newly held up in this frame, if any. Frames without a luma
    /// plane (YUYV) are not read.
    func shadeSKU(in frame: Frame, at time: Duration) throws(BarcodeError) -> String? {
        guard frame.lumaPlane != nil, let symbols = try decoder.process(frame, at: time) else { return nil }
        for symbol in symbols where duplicates.admit(symbol, at: frame.captureTime) {
            if let gtin = Self.gtin(symbol), let shade = catalog.shade(gtin: gtin) { return shade.sku }
        }
        return nil
    }

    /// An EAN/UPC's GTIN-13, or a GS1 DataMatrix's AI 01 (a GTIN-14).
    static func gtin(_ symbol: DecodedSymbol) -> String? {
        if let gtin = symbol.gtin { return gtin }
        guard symbol.isGS1, let elements = try? GS1.parse(symbol.bytes) else { return nil }
        return elements.first { $0.ai == "01" }?.value
    }
}
