import Foundation
import HubCore

/// A tightly packed 8-bit grey image that the decode strategies make and transform.
///
/// Strategies work on crops of a frame (a region of interest), so these images are small; their pixel
/// loops run over `withUnsafe...` buffers to stay cheap in release builds.
package struct LumaImage: Sendable, Equatable {
    /// Pixels per row.
    package var width: Int
    /// Rows.
    package var height: Int
    /// Row-major, `width` bytes per row.
    package var pixels: [UInt8]

    package init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height, "pixel count must match the size")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    package init(width: Int, height: Int, fill: UInt8 = 0) {
        self.init(width: width, height: height, pixels: [UInt8](repeating: fill, count: width * height))
    }

    /// Copies a rectangle out of a frame's luma plane (clamped to the frame).
    package init(frame: Frame, region: PixelRect) throws(BarcodeError) {
        guard let luma = frame.lumaPlane else { throw BarcodeError("frame format \(frame.format) has no luma plane") }
        let rect = region.clamped(width: frame.width, height: frame.height)
        guard rect.width > 0, rect.height > 0 else { throw BarcodeError("empty region \(region)") }
        var pixels = [UInt8](repeating: 0, count: rect.width * rect.height)
        pixels.withUnsafeMutableBytes { frame.copy(luma, rect, into: $0) }
        self.init(width: rect.width, height: rect.height, pixels: pixels)
    }

    /// The grey level that best splits the pixels into dark and light (Otsu's method).
    package var otsuThreshold: UInt8 { otsuThreshold(from: 0) }

    /// Otsu's split among the pixels at or above `floor` only: separates a white card from a lighter-than-ink
    /// background once the ink is set apart.
    func otsuThreshold(from floor: UInt8) -> UInt8 {
        var histogram = [Double](repeating: 0, count: 256)
        for value in pixels where value >= floor { histogram[Int(value)] += 1 }
        let total = histogram.reduce(0, +)
        guard total > 0 else { return floor }
        let sum = histogram.enumerated().reduce(0.0) { $0 + Double($1.offset) * $1.element }
        var weightDark = 0.0
        var sumDark = 0.0
        var best = 0.0
        var threshold = 127
        for level in 0..<256 {
            weightDark += histogram[level]
            guard weightDark > 0, weightDark < total else { continue }
            sumDark += Double(level) * histogram[level]
            let meanDark = sumDark / weightDark
            let meanLight = (sum - sumDark) / (total - weightDark)
            let between = weightDark * (total - weightDark) * (meanDark - meanLight) * (meanDark - meanLight)
            if between > best {
                best = between
                threshold = level
            }
        }
        return UInt8(threshold)
    }

    /// The median grey level, for filling what a rotation uncovers.
    package var median: UInt8 {
        var histogram = [Int](repeating: 0, count: 256)
        for value in pixels { histogram[Int(value)] += 1 }
        var seen = 0
        for (value, count) in histogram.enumerated() {
            seen += count
            if seen * 2 >= pixels.count { return UInt8(value) }
        }
        return 255
    }
}

extension Frame {
    /// Copies the rows of `rect` (inside the frame) out of `luma`, this frame's luma plane, into `target`, packed:
    /// `rect.width` bytes a row.
    package func copy(_ luma: UnsafeRawBufferPointer, _ rect: PixelRect, into target: UnsafeMutableRawBufferPointer) {
        for row in 0..<rect.height {
            let start = (rect.y + row) * bytesPerRow + rect.x
            UnsafeMutableRawBufferPointer(rebasing: target[(row * rect.width)..<((row + 1) * rect.width)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: luma[start..<(start + rect.width)]))
        }
    }
}
