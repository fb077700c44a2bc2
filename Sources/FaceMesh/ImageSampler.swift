import Foundation
import HubCore

/// Reads colour out of a frame at sub-pixel positions, and fills a model's input tensor through a rotated crop.
///
/// Integer coordinates are pixel centres. Crops follow MediaPipe's image-to-tensor step: tensor pixel (x, y) of a
/// W x H tensor shows the image at centre + R(angle) * ((x / W - 0.5) * width, (y / H - 0.5) * height), sampled
/// bilinearly. YUV frames are interpolated in YUV and converted with BT.601 limited range (the cameras' range).
struct ImageSampler {
    enum Layout {
        case rgb
        case nv12
        case yuyv
    }

    /// What the crop shows outside the image.
    enum Border {
        /// Black, as the detector's letterbox has it.
        case zero
        /// The nearest edge pixel.
        case replicate
    }

    let layout: Layout
    let base: UnsafePointer<UInt8>
    let width: Int
    let height: Int
    let bytesPerRow: Int

    init(frame: Frame) throws(FaceMeshError) {
        switch frame.format {
        case .nv12: layout = .nv12
        case .yuyv: layout = .yuyv
        case .grey:
            throw FaceMeshError(.unsupportedInput, "frame \(frame.index): grey frames have no colour; use NV12 or YUYV")
        }
        let needed =
            layout == .nv12
            ? frame.bytesPerRow * frame.height + frame.bytesPerRow * ((frame.height + 1) / 2)
            : frame.bytesPerRow * frame.height
        guard frame.width > 1, frame.height > 1, frame.bytesPerRow >= (layout == .yuyv ? 2 : 1) * frame.width,
            frame.buffer.bytes.count >= needed
        else {
            throw FaceMeshError(
                .unsupportedInput,
                "frame \(frame.index): \(frame.width)x\(frame.height) \(frame.format) with \(frame.bytesPerRow) bytes "
                    + "per row does not fit its \(frame.buffer.bytes.count)-byte buffer")
        }
        base = UnsafePointer(frame.buffer.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
        width = frame.width
        height = frame.height
        bytesPerRow = frame.bytesPerRow
    }

    init(rgb: UnsafeRawBufferPointer, width: Int, height: Int, bytesPerRow: Int) throws(FaceMeshError) {
        guard width > 1, height > 1, bytesPerRow >= 3 * width, rgb.count >= bytesPerRow * (height - 1) + 3 * width,
            let address = rgb.baseAddress
        else {
            throw FaceMeshError(
                .unsupportedInput,
                "RGB image \(width)x\(height) with \(bytesPerRow) bytes per row does not fit its \(rgb.count) bytes")
        }
        layout = .rgb
        base = address.assumingMemoryBound(to: UInt8.self)
        self.width = width
        self.height = height
        self.bytesPerRow = bytesPerRow
    }

    /// Three channels at integer position (x, y), already inside the image: RGB, or Y U V.
    @inline(__always)
    private func texel(_ x: Int, _ y: Int) -> SIMD4<Float> {
        switch layout {
        case .rgb:
            let p = base + y * bytesPerRow + 3 * x
            return SIMD4(Float(p[0]), Float(p[1]), Float(p[2]), 0)
        case .nv12:
            let luma = base[y * bytesPerRow + x]
            let chroma = base + bytesPerRow * height + (y / 2) * bytesPerRow + (x / 2) * 2
            return SIMD4(Float(luma), Float(chroma[0]), Float(chroma[1]), 0)
        case .yuyv:
            let row = base + y * bytesPerRow
            let pair = row + (x / 2) * 4
            return SIMD4(Float(row[2 * x]), Float(pair[1]), Float(pair[3]), 0)
        }
    }

    /// Bilinear sample at (x, y); outside the image per `border`. RGB 0...255 for every layout.
    @inline(__always)
    func sample(_ x: Float, _ y: Float, border: Border) -> SIMD4<Float> {
        let fx = x.rounded(.down)
        let fy = y.rounded(.down)
        let ax = x - fx
        let ay = y - fy
        let x0 = Int(fx)
        let y0 = Int(fy)
        var value: SIMD4<Float>
        if x0 >= 0 && y0 >= 0 && x0 + 1 < width && y0 + 1 < height {
            let top = texel(x0, y0) * (1 - ax) + texel(x0 + 1, y0) * ax
            let bottom = texel(x0, y0 + 1) * (1 - ax) + texel(x0 + 1, y0 + 1) * ax
            value = top * (1 - ay) + bottom * ay
        } else {
            // At the edge: each of the four taps is clamped (replicate) or left out (zero, black).
            value = .zero
            var inside: Float = 0
            for tap in 0..<4 {
                let dx = tap & 1
                let dy = tap >> 1
                let weight = (dx == 0 ? 1 - ax : ax) * (dy == 0 ? 1 - ay : ay)
                var px = x0 + dx
                var py = y0 + dy
                if px < 0 || py < 0 || px >= width || py >= height {
                    if border == .zero { continue }
                    px = min(max(px, 0), width - 1)
                    py = min(max(py, 0), height - 1)
                }
                value += texel(px, py) * weight
                inside += weight
            }
            if border == .zero && layout != .rgb {
                // Black in YUV terms for the missing taps, so the converted colour is black, not green.
                value += SIMD4(16, 128, 128, 0) * (1 - inside)
            }
        }
        return layout == .rgb ? value : ImageSampler.rgb(fromYUV: value)
    }

    /// BT.601 limited range YUV to RGB, clamped to 0...255.
    @inline(__always)
    static func rgb(fromYUV yuv: SIMD4<Float>) -> SIMD4<Float> {
        let y = 1.164 * (yuv[0] - 16)
        let u = yuv[1] - 128
        let v = yuv[2] - 128
        let value = SIMD4<Float>(y + 1.596 * v, y - 0.392 * u - 0.813 * v, y + 2.017 * u, 0)
        return value.clamped(lowerBound: .zero, upperBound: SIMD4(repeating: 255))
    }

    /// Fills a size x size x 3 tensor with the rotated crop `region`, mapping 0...255 to `range`.
    func crop(
        _ region: RotatedRect, into tensor: UnsafeMutablePointer<Float>, size: Int, range: ClosedRange<Float>,
        border: Border
    ) {
        let scale = (range.upperBound - range.lowerBound) / 255
        let offset = range.lowerBound
        let cosine = cos(region.rotation)
        let sine = sin(region.rotation)
        let n = Float(size)
        // Image position of tensor pixel (x, y) = origin + x * stepX + y * stepY.
        let stepX = SIMD2<Float>(cosine, sine) * (region.width / n)
        let stepY = SIMD2<Float>(-sine, cosine) * (region.height / n)
        let origin = SIMD2<Float>(region.centerX, region.centerY) - stepX * (n / 2) - stepY * (n / 2)
        var out = tensor
        for y in 0..<size {
            var position = origin + stepY * Float(y)
            for _ in 0..<size {
                let colour = sample(position.x, position.y, border: border) * scale + offset
                out[0] = colour[0]
                out[1] = colour[1]
                out[2] = colour[2]
                out += 3
                position += stepX
            }
        }
    }
}

/// A rectangle in image pixels, turned by `rotation` radians about its centre (clockwise on screen, y down).
package struct RotatedRect: Sendable, Equatable {
    package var centerX: Float
    package var centerY: Float
    package var width: Float
    package var height: Float
    package var rotation: Float

    package init(centerX: Float, centerY: Float, width: Float, height: Float, rotation: Float) {
        self.centerX = centerX
        self.centerY = centerY
        self.width = width
        self.height = height
        self.rotation = rotation
    }
}
