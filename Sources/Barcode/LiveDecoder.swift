import HubCore

/// Decoding for live video, within a CPU budget: the kiosk pipeline's decoder (not thread-safe).
///
/// Each frame first meets the `MotionGate` (frames where nothing moved are skipped). A frame that passes is
/// read by the `BarcodeReader`, and the time that took decides when the next frame may be read: after a
/// read of `t`, frames are let pass for `t / maxCpuShare - t`, so on average the decoder uses at most
/// `maxCpuShare` of one core whatever the scene. Strategies stop at `strategyBudget` into a frame.
package final class LiveDecoder {
    /// zbar and the strategies.
    package let reader: BarcodeReader
    /// Skips frames where nothing moved.
    package var gate = MotionGate()
    /// Whether the motion gate is used.
    package var skipStillFrames: Bool
    /// Average share of one core the decoder may use.
    package var maxCpuShare: Double
    /// Strategies are not started later than this into a frame.
    package var strategyBudget: Duration = .milliseconds(40)
    /// Frames offered, frames read, frames skipped because nothing moved, frames skipped for the budget.
    package private(set) var counters = Counters()
    private var nextRead: Duration = .zero

    /// What happened to the frames so far.
    package struct Counters: Sendable, Equatable {
        /// Frames handed to `process`.
        package var offered: UInt64 = 0
        /// Frames the reader read.
        package var read: UInt64 = 0
        /// Frames skipped because nothing moved.
        package var still: UInt64 = 0
        /// Frames skipped to stay within the CPU share.
        package var overBudget: UInt64 = 0
    }

    package init(reader: BarcodeReader, skipStillFrames: Bool = true, maxCpuShare: Double = 0.5) {
        self.reader = reader
        self.skipStillFrames = skipStillFrames
        self.maxCpuShare = max(0.01, min(1, maxCpuShare))
    }

    /// Reads the frame if it is worth it and the budget allows; nil when it was skipped. `time` is the frame's
    /// time on any monotonic scale (the pipeline's clock, or a benchmark's virtual 30 fps clock).
    package func process(_ frame: Frame, at time: Duration) throws(BarcodeError) -> [DecodedSymbol]? {
        guard admit(frame, at: time) else { return nil }
        let (symbols, spent) = try read(frame)
        if skipStillFrames { gate.decoded() }
        finished(admittedAt: time, spent: spent)
        return symbols
    }

    /// The first half of `process`, for a caller that reads on another thread: whether the frame is worth reading
    /// now (the motion gate, then the budget), counted as `process` counts it. Call it once per frame. A frame it
    /// admits goes to `read(_:)`, then to `finished(admittedAt:spent:)`; in between the caller uses nothing else
    /// of this decoder, and with `skipStillFrames` tells the gate (`gate.decoded()`) before its next frame.
    package func admit(_ frame: Frame, at time: Duration) -> Bool {
        counters.offered += 1
        if skipStillFrames && !gate.shouldDecode(frame) {
            counters.still += 1
            return false
        }
        guard time >= nextRead else {
            counters.overBudget += 1
            return false
        }
        return true
    }

    /// Reads an admitted frame with the reader alone, and says how long it took; any thread may run it while the
    /// caller keeps to the rule of `admit`.
    package func read(_ frame: Frame) throws(BarcodeError) -> (symbols: [DecodedSymbol], spent: Duration) {
        let clock = ContinuousClock()
        let start = clock.now
        let symbols = try reader.read(frame, deadline: start + strategyBudget)
        return (symbols, clock.now - start)
    }

    /// A read of the frame admitted at `time` took `spent`: frames are let pass for `spent / maxCpuShare - spent`.
    package func finished(admittedAt time: Duration, spent: Duration) {
        counters.read += 1
        nextRead = time + spent * (1 / maxCpuShare)
    }
}
