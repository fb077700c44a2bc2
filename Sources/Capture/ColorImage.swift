import CPNG
import CTurboJPEG
import Foundation
import HubCore

/// Colour stills for the mirror: images decoded to RGB and converted to NV12 frames (full-range BT.601, the
/// YCbCr JPEG uses), and NV12/YUYV frames converted back to RGB.
package enum ColorImage {
    /// Decodes a JPEG or PNG file into packed RGB (3 bytes per pixel). Errors name the file.
    package static func loadRGB(_ url: URL) throws(CaptureError) -> (pixels: [UInt8], width: Int, height: Int) {
        let bytes = try ImageFile.read(url)
        if bytes.starts(with: [0xFF, 0xD8]) { return try decodeJPEG(bytes, name: url.path) }
        if bytes.starts(with: PNG.signature) { return try decodePNG(bytes, name: url.path) }
        throw CaptureError("\(url.path): not a JPEG or PNG image", isTransient: false)
    }

    /// Decodes a colour image file into a new NV12 frame (odd widths and heights lose their last column or row).
    package static func loadNV12(_ url: URL) throws(CaptureError) -> Frame {
        let (pixels, width, height) = try loadRGB(url)
        guard width >= 2, height >= 2 else {
            throw CaptureError("\(url.path): image of \(width)x\(height) pixels is too small", isTransient: false)
        }
        return nv12(rgb: pixels, width: width, height: height)
    }

    static func decodeJPEG(_ jpeg: [UInt8], name: String) throws(CaptureError) -> ([UInt8], Int, Int) {
        let (buffer, width, height) = try JPEG.decode(jpeg, name: name, channels: 3)
        return (Array(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<(width * height * 3)])), width, height)
    }

    static func decodePNG(_ png: [UInt8], name: String) throws(CaptureError) -> ([UInt8], Int, Int) {
        let (buffer, width, height) = try PNG.decode(png, name: name, channels: 3)
        return (Array(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<(width * height * 3)])), width, height)
    }

    /// An NV12 frame (even size, bytesPerRow = width) from packed RGB; each chroma sample averages 2x2 pixels.
    package static func nv12(rgb: [UInt8], width sourceWidth: Int, height sourceHeight: Int) -> Frame {
        let width = sourceWidth & ~1
        let height = sourceHeight & ~1
        let buffer = FrameBuffer(capacity: width * height * 3 / 2)
        let out = buffer.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        rgb.withUnsafeBufferPointer { source in
            for y in 0..<height {
                for x in 0..<width {
                    let p = (y * sourceWidth + x) * 3
                    let luma = (19595 * Int(source[p]) + 38470 * Int(source[p + 1]) + 7471 * Int(source[p + 2]) + 32768)
                    out[y * width + x] = UInt8(luma >> 16)
                }
            }
            let chroma = out + width * height
            for cy in 0..<(height / 2) {
                for cx in 0..<(width / 2) {
                    var r = 0
                    var g = 0
                    var b = 0
                    for dy in 0..<2 {
                        for dx in 0..<2 {
                            let p = ((2 * cy + dy) * sourceWidth + 2 * cx + dx) * 3
                            r += Int(source[p])
                            g += Int(source[p + 1])
                            b += Int(source[p + 2])
                        }
                    }
                    // BT.601 full range on the 2x2 sums (so the coefficients carry a factor of 4).
                    let cb = (-11059 * r - 21709 * g + 32768 * b + 4 * 128 * 65536 + 131072) >> 18
                    let cr = (32768 * r - 27439 * g - 5329 * b + 4 * 128 * 65536 + 131072) >> 18
                    chroma[cy * width + 2 * cx] = UInt8(clamping: cb)
                    chroma[cy * width + 2 * cx + 1] = UInt8(clamping: cr)
                }
            }
        }
        return Frame(
            format: .nv12, width: width, height: height, bytesPerRow: width, captureTime: Date(), index: 0,
            buffer: buffer)
    }

    /// Packed RGB of an NV12 or YUYV frame (each chroma sample shared by the pixels it covers); grey frames come
    /// back grey.
    package static func rgb(of frame: Frame) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: frame.width * frame.height * 3)
        let base = frame.buffer.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let stride = frame.bytesPerRow
        for y in 0..<frame.height {
            for x in 0..<frame.width {
                let luma: Int
                var cb = 128
                var cr = 128
                switch frame.format {
                case .grey:
                    luma = Int(base[y * stride + x])
                case .nv12:
                    luma = Int(base[y * stride + x])
                    let c = base + stride * frame.height + (y / 2) * stride + (x & ~1)
                    cb = Int(c[0])
                    cr = Int(c[1])
                case .yuyv:
                    let row = base + y * stride
                    luma = Int(row[2 * x])
                    cb = Int(row[4 * (x / 2) + 1])
                    cr = Int(row[4 * (x / 2) + 3])
                }
                let u = cb - 128
                let v = cr - 128
                let p = (y * frame.width + x) * 3
                pixels[p] = UInt8(clamping: luma + (91881 * v + 32768) >> 16)
                pixels[p + 1] = UInt8(clamping: luma - (22554 * u + 46802 * v + 32768) >> 16)
                pixels[p + 2] = UInt8(clamping: luma + (116130 * u + 32768) >> 16)
            }
        }
        return pixels
    }

    /// A copy of `frame` in new memory (the mirror keeps a frame for a snapshot while its source moves on).
    package static func copy(_ frame: Frame) -> Frame {
        let size = frame.format == .nv12 ? frame.bytesPerRow * frame.height * 3 / 2 : frame.bytesPerRow * frame.height
        let buffer = FrameBuffer(capacity: size)
        buffer.bytes.copyMemory(from: UnsafeRawBufferPointer(rebasing: frame.buffer.bytes[0..<size]))
        var result = frame
        result.buffer = buffer
        return result
    }
}
