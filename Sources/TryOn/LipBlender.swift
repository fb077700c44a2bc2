import HubCore

/// A shade turned into what the blender works with: full-range BT.601 YCbCr target and opacity.
package struct PreparedShade: Sendable, Equatable {
    package var shade: Shade
    let y: Int32
    let cb: Int32
    let cr: Int32

    /// Nil when the shade's colour is not `#RRGGBB` (a validated catalog never has such).
    package init?(_ shade: Shade) {
        guard let rgb = shade.rgb else { return nil }
        let ycc = ColorMath.ycbcr(red: rgb.x, green: rgb.y, blue: rgb.z)
        self.shade = shade
        y = Int32(ycc.x.rounded())
        cb = Int32(ycc.y.rounded())
        cr = Int32(ycc.z.rounded())
    }
}

/// Recolours the lips of an NV12 or YUYV frame in place, through a mask, without a round trip through RGB.
///
/// Chroma is moved toward the shade's; luma is moved toward the shade's level while the lips' own texture (their
/// deviations from the mean lip luma) is kept, scaled to the new level and shaped by the finish. Over pixels the
/// mask covers fully, the mean colour is the shade blended at its opacity over the mean lip colour. The frame is
/// taken as full-range BT.601 (JPEG and UVC cameras' usual YCbCr).
///
/// All working memory is allocated at init; `blend` allocates nothing.
package final class LipBlender {
    private let histogram: UnsafeMutableBufferPointer<UInt32>
    private let toneCurve: UnsafeMutableBufferPointer<Int32>

    package init() {
        histogram = .allocate(capacity: 256)
        histogram.initialize(repeating: 0)
        toneCurve = .allocate(capacity: 256)
        toneCurve.initialize(repeating: 0)
    }

    deinit {
        histogram.deallocate()
        toneCurve.deallocate()
    }

    /// Where the lips are, for effects that must stay put on them (shimmer): centre and width in pixels.
    package struct Anchor: Sendable, Equatable {
        package var center: SIMD2<Float>
        package var width: Float
        package init(center: SIMD2<Float>, width: Float) {
            self.center = center
            self.width = width
        }
    }

    /// Blends `shade` over the lips of `frame` where `mask` says, at `strength` (0...1) times the shade's opacity.
    /// The mask must have the frame's size. Frames in another format are left as they are.
    package func blend(_ frame: Frame, mask: LipMask, shade: PreparedShade, strength: Float, anchor: Anchor) {
        guard frame.format != .grey, mask.width == frame.width, mask.height == frame.height else { return }
        let bounds = mask.bounds
        guard bounds.x1 > bounds.x0, bounds.y1 > bounds.y0 else { return }
        let weight = Int32((min(max(strength, 0), 1) * Float(shade.shade.opacity) * 256).rounded())
        guard weight > 0 else { return }
        let base = frame.buffer.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let stride = frame.bytesPerRow
        let lumaStep = frame.format == .yuyv ? 2 : 1
        let m = mask.pixels.baseAddress!
        let maskWidth = mask.width

        // The lips' luma statistics, weighted by the mask.
        for index in 0..<256 { histogram[index] = 0 }
        var total: UInt64 = 0
        for y in bounds.y0..<bounds.y1 {
            let row = base + y * stride
            let maskRow = m + y * maskWidth
            for x in bounds.x0..<bounds.x1 {
                let a = UInt32(maskRow[x])
                if a == 0 { continue }
                histogram[Int(row[x * lumaStep])] &+= a
                total &+= UInt64(a)
            }
        }
        guard total > 0 else { return }
        buildToneCurve(shade: shade, total: Double(total))

        // Luma: toward the tone curve, with sparkle for shimmer.
        let shimmer = shade.shade.finish == .shimmer
        let cellsPerWidth: Float = 90
        let mouthWidth = anchor.width.isNaN ? 1 : min(max(anchor.width, 1), 65536)
        let cellScale = Int32((cellsPerWidth / mouthWidth) * 65536)
        let centerX = Int32(anchor.center.x.pixel(in: -(1 << 16)...(1 << 16)))
        let centerY = Int32(anchor.center.y.pixel(in: -(1 << 16)...(1 << 16)))
        for y in bounds.y0..<bounds.y1 {
            let row = base + y * stride
            let maskRow = m + y * maskWidth
            let cellY = ((Int32(y) - centerY) * cellScale) >> 16
            for x in bounds.x0..<bounds.x1 {
                let a = Int32(maskRow[x])
                if a == 0 { continue }
                let w = a * weight
                let pointer = row + x * lumaStep
                let value = Int32(pointer.pointee)
                var target = toneCurve[Int(value)]
                if shimmer {
                    let cellX = ((Int32(x) - centerX) * cellScale) >> 16
                    if Self.sparkles(cellX, cellY) { target = min(255, target + 60) }
                }
                let next = value + ((target - value) * w + (1 << 15)) >> 16
                pointer.pointee = UInt8(truncatingIfNeeded: min(max(next, 0), 255))
            }
        }

        // Chroma: toward the shade's, with the mask averaged over each chroma sample's pixels.
        if frame.format == .nv12 {
            let chroma = base + stride * frame.height
            for cy in (bounds.y0 / 2)..<((bounds.y1 + 1) / 2) {
                let y0 = 2 * cy
                let y1 = min(y0 + 1, frame.height - 1)
                let row = chroma + cy * stride
                for cx in (bounds.x0 / 2)..<((bounds.x1 + 1) / 2) {
                    let x0 = 2 * cx
                    let x1 = min(x0 + 1, frame.width - 1)
                    let a =
                        (Int32(m[y0 * maskWidth + x0]) + Int32(m[y0 * maskWidth + x1]) + Int32(m[y1 * maskWidth + x0])
                            + Int32(m[y1 * maskWidth + x1]) + 2) >> 2
                    if a == 0 { continue }
                    Self.pullChroma(row + 2 * cx, row + 2 * cx + 1, w: a * weight, shade: shade)
                }
            }
        } else {
            for y in bounds.y0..<bounds.y1 {
                let row = base + y * stride
                let maskRow = m + y * maskWidth
                for pair in (bounds.x0 / 2)..<((bounds.x1 + 1) / 2) {
                    let x0 = 2 * pair
                    let x1 = min(x0 + 1, frame.width - 1)
                    let a = (Int32(maskRow[x0]) + Int32(maskRow[x1]) + 1) >> 1
                    if a == 0 { continue }
                    Self.pullChroma(row + 4 * pair + 1, row + 4 * pair + 3, w: a * weight, shade: shade)
                }
            }
        }
    }

    @inline(__always)
    private static func pullChroma(
        _ cb: UnsafeMutablePointer<UInt8>, _ cr: UnsafeMutablePointer<UInt8>, w: Int32, shade: PreparedShade
    ) {
        let u = Int32(cb.pointee)
        let v = Int32(cr.pointee)
        cb.pointee = UInt8(truncatingIfNeeded: u + ((shade.cb - u) * w + (1 << 15)) >> 16)
        cr.pointee = UInt8(truncatingIfNeeded: v + ((shade.cr - v) * w + (1 << 15)) >> 16)
    }

    /// About one lip cell in 40 sparkles; the pattern is a hash of the cell, so it moves with the lips.
    @inline(__always)
    static func sparkles(_ x: Int32, _ y: Int32) -> Bool {
        var h = UInt32(bitPattern: x &* 73_856_093) ^ UInt32(bitPattern: y &* 19_349_663)
        h ^= h >> 13
        h = h &* 0x5bd1_e995
        h ^= h >> 15
        return h % 40 == 0
    }

    /// The luma each lip luma value moves toward at full weight: the shade's level plus the lips' own deviation
    /// from their mean (scaled to the new level), shaped by the finish, with the finish's mean effect taken out
    /// so the lips' mean lands on the shade.
    private func buildToneCurve(shade: PreparedShade, total: Double) {
        var sum = 0.0
        var squares = 0.0
        for value in 0..<256 {
            let count = Double(histogram[value])
            sum += count * Double(value)
            squares += count * Double(value * value)
        }
        let mean = sum / total
        let spread = max(0, squares / total - mean * mean).squareRoot()
        let contrast = min(max((Double(shade.y) / max(mean, 1)).squareRoot(), 0.5), 1.5)
        func finishTerm(_ deviation: Double) -> Double {
            switch shade.shade.finish {
            case .matte: return -0.6 * max(0, deviation)
            case .satin, .shimmer: return 0
            case .gloss: return 1.6 * max(0, deviation - 0.6 * spread)
            }
        }
        var finishMean = 0.0
        for value in 0..<256 where histogram[value] > 0 {
            finishMean += Double(histogram[value]) * finishTerm(Double(value) - mean)
        }
        finishMean /= total
        for value in 0..<256 {
            let deviation = Double(value) - mean
            let target = Double(shade.y) + contrast * deviation + finishTerm(deviation) - finishMean
            toneCurve[value] = Int32(min(max(target.rounded(), 0), 255))
        }
    }
}
