import Barcode
import Foundation
import HubCore
import Synchronization
import TryOn

/// Product codes held up to a mirror: a shopper shows the lipstick she holds, and the mirror selects its shade.
///
/// Reads EAN-13/UPC-A and GS1 DataMatrix codes (the GTIN is AI 01) in the mirror's frames through the kiosks'
/// decoder, with its motion gate and a small CPU share; a code seen again within `repeatSeconds` is not a new
/// choice. Only GTINs that a shade of the catalog lists select anything.
///
/// The read runs beside the frame loop, on a thread of its own: a read of a 1080p frame takes tens of
/// milliseconds (zbar over the whole luma plane), more than a 30 fps camera's frame interval, and on the frame
/// loop it cost the frames that came meanwhile. The loop gates each frame and, when the budget admits one and no
/// read is running, copies its luma plane (about 0.3 ms at 1080p) and goes on; the shade comes with the first
/// frame after the read finished.
final class MirrorProductCodes: @unchecked Sendable {
    // @unchecked: `decoder` and `copy` belong to the frame loop while no read runs and to the read task while one
    // does; `state.busy`, set by the loop before it starts a read and cleared when the loop takes the read's
    // outcome, hands them over (the mutex orders the two threads' accesses). `duplicates` is the loop's alone.
    /// The symbologies on lipstick packaging.
    static let symbologies: [Symbology] = [.ean13, .upca, .datamatrix]
    private let decoder: LiveDecoder
    private let catalog: ShadeCatalog
    private var duplicates = DuplicateFilter(window: 3)
    private let thread = DeviceThread()
    /// The luma plane of the frame being read.
    private var copy: FrameBuffer?
    private let state = Mutex(ReadState())

    private struct ReadState {
        var busy = false
        /// The frame being read: its time for the budget, its capture time for the duplicate filter.
        var admittedAt: Duration = .zero
        var captureTime = Date.distantPast
        var outcome: Result<(symbols: [DecodedSymbol], spent: Duration), BarcodeError>?
    }

    /// Nil when no shade lists a GTIN: then there is nothing to look for.
    init?(catalog: ShadeCatalog, maxCpuShare: Double = 0.1) throws(BarcodeError) {
        guard catalog.shades.contains(where: { !$0.gtins.isEmpty }) else { return nil }
        self.catalog = catalog
        // No strategies: a code held up to a mirror is close and large; the kiosks' strategies are for the rest.
        decoder = LiveDecoder(
            reader: try BarcodeReader(symbologies: Self.symbologies, strategies: []), maxCpuShare: maxCpuShare)
    }

    /// Ends the read thread once a running read is done. Call it when the frame loop ends.
    func stop() { thread.stop() }

    /// The SKU of the shade whose GTIN was on a code newly held up, found by the last read that finished since
    /// the previous call, if any; starts a read of this frame when the gate and budget admit it and none is
    /// running. Frames without a luma plane (YUYV) are not read. Throws what the finished read threw.
    func shadeSKU(in frame: Frame, at time: Duration) throws(BarcodeError) -> String? {
        let finished = state.withLock { state -> ReadState? in
            guard state.outcome != nil else { return nil }
            defer {
                state.outcome = nil
                state.busy = false
            }
            return state
        }
        var found: Result<String?, BarcodeError> = .success(nil)
        if let finished, let outcome = finished.outcome {
            found = outcome.map { symbols, spent in
                decoder.finished(admittedAt: finished.admittedAt, spent: spent)
                return shadeSKU(in: symbols, seenAt: finished.captureTime)
            }
        }
        let busy = finished == nil && state.withLock { $0.busy }
        if !busy, let luma = frame.lumaPlane, decoder.admit(frame, at: time) {
            if decoder.skipStillFrames { decoder.gate.decoded() }
            start(reading: frame, luma: luma, at: time)
        }
        return try found.get()
    }

    private func shadeSKU(in symbols: [DecodedSymbol], seenAt time: Date) -> String? {
        for symbol in symbols where duplicates.admit(symbol, at: time) {
            if let gtin = Self.gtin(symbol), let shade = catalog.shade(gtin: gtin) { return shade.sku }
        }
        return nil
    }

    /// Copies the frame's luma plane and reads it on the read thread.
    private func start(reading frame: Frame, luma: UnsafeRawBufferPointer, at time: Duration) {
        let width = frame.width
        let height = frame.height
        if copy.map({ $0.bytes.count != width * height }) ?? true { copy = FrameBuffer(capacity: width * height) }
        let copy = self.copy!
        frame.copy(luma, PixelRect(x: 0, y: 0, width: width, height: height), into: copy.bytes)
        let grey = Frame(
            format: .grey, width: width, height: height, bytesPerRow: width, captureTime: frame.captureTime,
            index: frame.index, buffer: copy)
        state.withLock { state in
            state.busy = true
            state.admittedAt = time
            state.captureTime = frame.captureTime
        }
        Task(executorPreference: thread) {
            let outcome = Result { () throws(BarcodeError) in try self.decoder.read(grey) }
            self.state.withLock { $0.outcome = outcome }
        }
    }

    /// An EAN/UPC's GTIN-13, or a GS1 DataMatrix's AI 01 (a GTIN-14).
    static func gtin(_ symbol: DecodedSymbol) -> String? {
        if let gtin = symbol.gtin { return gtin }
        guard symbol.isGS1, let elements = try? GS1.parse(symbol.bytes) else { return nil }
        return elements.first { $0.ai == "01" }?.value
    }
}
