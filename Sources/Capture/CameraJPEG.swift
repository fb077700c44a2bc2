import CTurboJPEG
import HubCore

/// JPEG frames as a USB (UVC) camera sends them in MJPEG mode: baseline, 4:2:2 chroma, and without Huffman
/// tables (Motion-JPEG leaves them out and decoders use the standard ones). For tests and replay benchmarks that
/// must feed the MJPEG path real camera-like bytes; nothing here runs in a hub that has a real camera.
package enum CameraJPEG {
    /// Encodes an RGB image (rows of `3 * width` bytes) as a camera would, Huffman tables stripped. Nil when
    /// libjpeg-turbo fails.
    package static func encode(
        rgb: [UInt8], width: Int, height: Int, quality: Int32 = 85, subsampling: TJSAMP = TJSAMP_422
    ) -> [UInt8]? {
        precondition(rgb.count >= width * height * 3, "the RGB image is smaller than its size")
        guard let handle = tjInitCompress() else { return nil }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let result = tjCompress2(
            handle, rgb, Int32(width), 0, Int32(height), Int32(TJPF_RGB.rawValue), &output, &size,
            Int32(subsampling.rawValue), quality, 0)
        defer { if output != nil { tjFree(output) } }
        guard result == 0, let output else { return nil }
        return withoutHuffmanTables(Array(UnsafeBufferPointer(start: output, count: Int(size))))
    }

    /// The same JPEG without its DHT segments (markers before the start of scan are walked by their lengths).
    package static func withoutHuffmanTables(_ jpeg: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0xFF, 0xD8]
        var position = 2
        while position + 4 <= jpeg.count, jpeg[position] == 0xFF {
            let marker = jpeg[position + 1]
            if marker == 0xDA { break }  // start of scan: the rest is entropy-coded data
            let length = Int(jpeg[position + 2]) << 8 | Int(jpeg[position + 3])
            if marker != 0xC4 { out += jpeg[position..<min(position + 2 + length, jpeg.count)] }
            position += 2 + length
        }
        return out + jpeg[min(position, jpeg.count)...]
    }

    /// The chroma subsampling a JPEG's header declares, or nil when it is not a JPEG libjpeg-turbo reads.
    package static func subsampling(of jpeg: UnsafeRawBufferPointer) -> TJSAMP? {
        guard let handle = tjInitDecompress(), let base = jpeg.baseAddress else { return nil }
        defer { tjDestroy(handle) }
        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        guard
            tjDecompressHeader3(
                handle, base.assumingMemoryBound(to: UInt8.self), UInt(jpeg.count), &width, &height, &subsampling,
                &colorspace) == 0
        else { return nil }
        return TJSAMP(rawValue: UInt32(subsampling))
    }

    /// The last complete JPEG (SOI to EOI) in `bytes`, e.g. the newest frame of a recorded MJPEG stream.
    package static func lastJPEG(in bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= 4 else { return nil }
        var end = bytes.count - 2
        while end >= 2, !(bytes[end] == 0xFF && bytes[end + 1] == 0xD9) { end -= 1 }
        var start = end - 2
        while start >= 0, !(bytes[start] == 0xFF && bytes[start + 1] == 0xD8 && bytes[start + 2] == 0xFF) {
            start -= 1
        }
        guard start >= 0, end > start else { return nil }
        return Array(bytes[start...(end + 1)])
    }

    /// Decodes a JPEG to packed RGB; the error names `name`.
    package static func decodeRGB(_ jpeg: [UInt8], name: String) throws(CaptureError) -> (
        pixels: [UInt8], width: Int, height: Int
    ) {
        let (pixels, width, height) = try ColorImage.decodeJPEG(jpeg, name: name)
        return (pixels, width, height)
    }
}
