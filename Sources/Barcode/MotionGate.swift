import HubCore

/// Tells a live pipeline which frames are worth decoding: skips frames where nothing moved.
///
/// A kiosk camera mostly looks at an empty, still counter. Each frame is reduced to a grid of block means
/// (16x16-pixel cells, 16 samples each, so about 1/16 of the pixels are read) and compared with the grid of
/// the last frame that was decoded. A frame is decoded when enough cells changed (something moved in), while
/// the scene is still settling after motion (a code held up steadies after it arrives), and at least every
/// `refreshFrames` frames whatever happens (lighting drift, a code that was missed).
package struct MotionGate: Sendable {
    /// Grey-level change of a cell mean that counts as motion; well above sensor noise of a 16-sample mean.
    package var cellThreshold: Int = 10
    /// Changed cells needed (a code the size of a matchbox covers a few dozen at 720p).
    package var minChangedCells: Int = 6
    /// Frames decoded after the last motion.
    package var settleFrames: Int = 12
    /// A decode at least this often, in frames.
    package var refreshFrames: Int = 60

    private var reference: [UInt8] = []
    private var current: [UInt8] = []
    private var framesSinceDecode = Int.max / 2
    private var framesSinceMotion = Int.max / 2

    package init() {}

    /// Whether to decode this frame. Call once per frame; if the answer is true the frame's grid becomes the
    /// reference when `decoded()` is called after decoding it.
    package mutating func shouldDecode(_ frame: Frame) -> Bool {
        guard let luma = frame.lumaPlane else { return true }
        let cell = 16
        let cellsX = frame.width / cell
        let cellsY = frame.height / cell
        let count = cellsX * cellsY
        if current.count != count { current = [UInt8](repeating: 0, count: count) }
        let stride = frame.bytesPerRow
        current.withUnsafeMutableBufferPointer { grid in
            luma.withMemoryRebound(to: UInt8.self) { pixels in
                for cy in 0..<cellsY {
                    for cx in 0..<cellsX {
                        var total = 0
                        let base = cy * cell * stride + cx * cell
                        for sy in Swift.stride(from: 2, to: cell, by: 4) {
                            let row = base + sy * stride
                            total +=
                                Int(pixels[row + 2]) + Int(pixels[row + 6]) + Int(pixels[row + 10])
                                + Int(pixels[row + 14])
                        }
                        grid[cy * cellsX + cx] = UInt8(total / 16)
                    }
                }
            }
        }
        framesSinceDecode += 1
        framesSinceMotion += 1
        if reference.count != count {
            framesSinceMotion = 0
            return true
        }
        var changed = 0
        for index in 0..<count where abs(Int(current[index]) - Int(reference[index])) > cellThreshold {
            changed += 1
        }
        if changed >= minChangedCells { framesSinceMotion = 0 }
        return framesSinceMotion <= settleFrames || framesSinceDecode >= refreshFrames
    }

    /// The frame last passed to `shouldDecode` was decoded: it becomes the reference.
    package mutating func decoded() {
        swap(&reference, &current)
        if current.count != reference.count { current = reference }
        framesSinceDecode = 0
    }
}
