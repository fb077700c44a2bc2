import CTurboJPEG
import HubCore

/// Grey JPEGs of frames for the status page: camera thumbnails and staff snapshots.
public enum JPEGEncoder {
    /// Encodes `frame`'s luma, shrunk by `shrink` (1 keeps the full size) with a box filter. Returns nil only
    /// when libjpeg-turbo fails, which leaves the page without a picture and nothing else.
    public static func grey(_ frame: Frame, shrink: Int = 1, quality: Int32 = 80) -> [UInt8]? {
        guard let luma = frame.lumaPlane, shrink >= 1 else { return nil }
        let width = frame.width / shrink
        let height = frame.height / shrink
        guard width > 0, height > 0 else { return nil }
        var pixels = [UInt8](repeating: 0, count: width * height)
        let stride = frame.bytesPerRow
        let area = shrink * shrink
        for y in 0..<height {
            for x in 0..<width {
                var sum = 0
                for dy in 0..<shrink {
                    let row = (y * shrink + dy) * stride + x * shrink
                    for dx in 0..<shrink { sum += Int(luma[row + dx]) }
                }
                pixels[y * width + x] = UInt8(sum / area)
            }
        }
        guard let handle = tjInitCompress() else { return nil }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let result = tjCompress2(
            handle, pixels, Int32(width), Int32(width), Int32(height), Int32(TJPF_GRAY.rawValue), &output, &size,
            Int32(TJSAMP_GRAY.rawValue), quality, 0)
        defer { if output != nil { tjFree(output) } }
        guard result == 0, let output else { return nil }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}
