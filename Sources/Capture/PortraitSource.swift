import Foundation
import HubCore
import Synchronization

/// A still colour portrait played as a mirror's camera: NV12 frames at a set rate, with small synthetic head
/// motion (a slow sway, nod and tilt) so the mirror's tracking and smoothing have something to follow.
///
/// The image is decoded once at `open()`; each frame is the portrait warped (bilinear) into one buffer allocated
/// at open, so playing allocates nothing. The motion is a known function of the frame index (`motion(at:)`), so
/// landmarks computed once for the still can be moved with it.
package final class PortraitSource: FrameSource {
    package let file: URL
    package let fps: Double
    package let moves: Bool
    private let state: Mutex<State>

    private struct State {
        var still: Frame?
        var output: FrameBuffer?
        var pacing: ReplayPacing
        var counters = FrameCounters()
    }

    package init(file: URL, fps: Double, moves: Bool = true) {
        precondition(fps > 0)
        self.file = file
        self.fps = fps
        self.moves = moves
        state = Mutex(State(pacing: ReplayPacing(fps: fps)))
    }

    package var description: String { "portrait \(file.lastPathComponent) at \(fps) fps" }

    package var counters: FrameCounters { state.withLock { $0.counters } }

    /// The synthetic head pose at frame `index`: pixels of the still map to `offset + rotation·scale·(p − centre)
    /// + centre`.
    package struct Motion: Sendable, Equatable {
        package var offset: SIMD2<Float>
        package var angle: Float
        package var scale: Float

        /// Where a point of the still appears in the frame, for an image of `width` x `height`.
        package func apply(_ point: SIMD2<Float>, width: Int, height: Int) -> SIMD2<Float> {
            let center = SIMD2(Float(width), Float(height)) / 2
            let p = (point - center) * scale
            let c = cos(angle)
            let s = sin(angle)
            return SIMD2(c * p.x - s * p.y, s * p.x + c * p.y) + center + offset
        }
    }

    /// The pose at frame `index` of a source running at `fps`; still when `moves` is false.
    package static func motion(at index: UInt64, fps: Double, moves: Bool, width: Int) -> Motion {
        guard moves else { return Motion(offset: .zero, angle: 0, scale: 1) }
        let t = Float(Double(index) / fps)
        let amplitude = Float(width) * 0.015
        return Motion(
            offset: SIMD2(amplitude * sin(t * 0.9), amplitude * 0.6 * sin(t * 1.3 + 1)),
            angle: 0.03 * sin(t * 0.7), scale: 1 + 0.015 * sin(t * 0.5))
    }

    package func open() async throws {
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw CaptureError(
                "face photo \(file.path) is missing: run scripts/fetch-assets (make run does) to fetch it",
                isTransient: true)
        }
        let still = try ColorImage.loadNV12(file)
        state.withLock { state in
            state.still = still
            state.output = FrameBuffer(capacity: still.width * still.height * 3 / 2)
            state.pacing.reset()
        }
    }

    package func next() async throws -> Frame? {
        let (tick, due) = state.withLock { $0.pacing.next() }
        try await ReplayPacing.wait(until: due)
        let taken = state.withLock { state -> (Frame, FrameBuffer, Int64)? in
            guard let still = state.still, let output = state.output else { return nil }
            let (current, skipped) = state.pacing.take(tick)
            state.counters.dropped += skipped
            state.counters.delivered += 1
            state.counters.converted += 1
            return (still, output, current)
        }
        guard let (still, output, current) = taken else { return nil }
        let motion = Self.motion(at: UInt64(current), fps: fps, moves: moves, width: still.width)
        Self.warp(still, into: output, motion: motion)
        return Frame(
            format: .nv12, width: still.width, height: still.height, bytesPerRow: still.width, captureTime: Date(),
            index: UInt64(current), buffer: output)
    }

    package func close() {
        state.withLock { state in
            state.still = nil
            state.output = nil
            state.pacing.reset()
        }
    }

    /// Draws `still` moved by `motion` into `output` (same size, NV12): bilinear luma, nearest chroma.
    static func warp(_ still: Frame, into output: FrameBuffer, motion: Motion) {
        let width = still.width
        let height = still.height
        let source = still.buffer.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let target = output.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        // Inverse map: frame pixel → still pixel.
        let center = SIMD2(Float(width), Float(height)) / 2
        let c = cos(-motion.angle) / motion.scale
        let s = sin(-motion.angle) / motion.scale
        func inverse(_ x: Float, _ y: Float) -> SIMD2<Float> {
            let p = SIMD2(x, y) - center - motion.offset
            return SIMD2(c * p.x - s * p.y, s * p.x + c * p.y) + center
        }
        let fixed: Float = 256
        for y in 0..<height {
            let rowStart = inverse(0, Float(y))
            let stepX = SIMD2(c, s)
            var sx = Int32(rowStart.x * fixed)
            var sy = Int32(rowStart.y * fixed)
            let dx = Int32(stepX.x * fixed)
            let dy = Int32(stepX.y * fixed)
            let row = target + y * width
            for x in 0..<width {
                let ix = Int(sx >> 8)
                let iy = Int(sy >> 8)
                if ix >= 0 && iy >= 0 && ix < width - 1 && iy < height - 1 {
                    let fx = sx & 0xFF
                    let fy = sy & 0xFF
                    let p = source + iy * width + ix
                    let top = Int32(p[0]) * (256 - fx) + Int32(p[1]) * fx
                    let bottom = Int32(p[width]) * (256 - fx) + Int32(p[width + 1]) * fx
                    row[x] = UInt8(truncatingIfNeeded: (top * (256 - fy) + bottom * fy + 32768) >> 16)
                } else {
                    row[x] = 16
                }
                sx &+= dx
                sy &+= dy
            }
        }
        let sourceChroma = source + width * height
        let targetChroma = target + width * height
        for cy in 0..<(height / 2) {
            for cx in 0..<(width / 2) {
                let p = inverse(Float(2 * cx + 1), Float(2 * cy + 1))
                let ix = Int(p.x) / 2
                let iy = Int(p.y) / 2
                let out = targetChroma + cy * width + 2 * cx
                if p.x >= 0 && p.y >= 0 && ix < width / 2 && iy < height / 2 {
                    let q = sourceChroma + iy * width + 2 * ix
                    out[0] = q[0]
                    out[1] = q[1]
                } else {
                    out[0] = 128
                    out[1] = 128
                }
            }
        }
    }
}
