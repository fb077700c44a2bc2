import CTurboJPEG
import HubCore

/// Grey JPEGs of frames for the status page: camera thumbnails and staff snapshots.
package enum JPEGEncoder {
    /// Encodes `frame`'s luma, shrunk by `shrink` (1 keeps the full size) with a box filter. Returns nil only
    /// when libjpeg-turbo fails, which leaves the page without a picture and nothing else.
    package static func grey(_ frame: Frame, shrink: Int = 1, quality: Int32 = 80) -> [UInt8]? {
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

/// Colour JPEGs of NV12 and YUYV frames (the mirror stream and snapshots), straight from the YCbCr planes: no
/// RGB round trip. Chroma planes and the output buffer are allocated for one frame size, so encoding a stream
/// allocates nothing per frame.
///
/// One encoder belongs to one task at a time (libjpeg-turbo handles are not thread-safe).
package final class ColorJPEGEncoder {
    private let handle: tjhandle
    private var width = 0
    private var height = 0
    private var format = PixelFormat.grey
    /// Separate planes for the encoder: luma only for YUYV (NV12's luma is used in place), Cb and Cr for both.
    private var luma: UnsafeMutableBufferPointer<UInt8> = .init(start: nil, count: 0)
    private var cb: UnsafeMutableBufferPointer<UInt8> = .init(start: nil, count: 0)
    private var cr: UnsafeMutableBufferPointer<UInt8> = .init(start: nil, count: 0)
    private let planes = UnsafeMutablePointer<UnsafePointer<UInt8>?>.allocate(capacity: 3)
    private let strides = UnsafeMutablePointer<Int32>.allocate(capacity: 3)
    private var output: UnsafeMutablePointer<UInt8>?
    private var outputCapacity: UInt = 0
    package var quality: Int32

    /// Nil when libjpeg-turbo cannot start.
    package init?(quality: Int32 = 80) {
        guard let handle = tjInitCompress() else { return nil }
        self.handle = handle
        self.quality = quality
        planes.initialize(repeating: nil, count: 3)
        strides.initialize(repeating: 0, count: 3)
    }

    deinit {
        luma.deallocate()
        cb.deallocate()
        cr.deallocate()
        planes.deallocate()
        strides.deallocate()
        if let output { tjFree(output) }
        tjDestroy(handle)
    }

    private func prepare(_ frame: Frame) -> Bool {
        if frame.width == width && frame.height == height && frame.format == format { return output != nil }
        luma.deallocate()
        cb.deallocate()
        cr.deallocate()
        if let output { tjFree(output) }
        width = frame.width & ~1
        height = frame.height & ~1
        format = frame.format
        let chromaSize = (width / 2) * (format == .nv12 ? height / 2 : height)
        luma = .allocate(capacity: format == .yuyv ? width * height : 0)
        cb = .allocate(capacity: chromaSize)
        cr = .allocate(capacity: chromaSize)
        outputCapacity = tjBufSize(Int32(width), Int32(height), Int32(subsampling.rawValue))
        output = tjAlloc(Int32(outputCapacity))
        return output != nil
    }

    private var subsampling: TJSAMP { format == .nv12 ? TJSAMP_420 : TJSAMP_422 }

    /// Encodes `frame` and lends the JPEG to `body`; the bytes are valid only inside it. Nil for grey frames or
    /// when libjpeg-turbo fails.
    package func encode<R>(_ frame: Frame, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard splitPlanes(frame) else { return nil }
        return try compressPlanes(body)
    }

    /// First half of `encode`: the frame's chroma (and YUYV's luma) into the encoder's separate planes. Public
    /// apart for the benchmark, which times colour conversion and compression separately.
    package func splitPlanes(_ frame: Frame) -> Bool {
        guard frame.format != .grey, frame.width >= 2, frame.height >= 2, prepare(frame) else { return false }
        let base = frame.buffer.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let stride = frame.bytesPerRow
        let chromaWidth = width / 2
        if format == .nv12 {
            let chroma = base + stride * frame.height
            for cy in 0..<(height / 2) {
                let row = chroma + cy * stride
                let target = cy * chromaWidth
                for cx in 0..<chromaWidth {
                    cb[target + cx] = row[2 * cx]
                    cr[target + cx] = row[2 * cx + 1]
                }
            }
            planes[0] = UnsafePointer(base)
            strides[0] = Int32(stride)
        } else {
            for y in 0..<height {
                let row = base + y * stride
                for pair in 0..<chromaWidth {
                    luma[y * width + 2 * pair] = row[4 * pair]
                    luma[y * width + 2 * pair + 1] = row[4 * pair + 2]
                    cb[y * chromaWidth + pair] = row[4 * pair + 1]
                    cr[y * chromaWidth + pair] = row[4 * pair + 3]
                }
            }
            planes[0] = UnsafePointer(luma.baseAddress!)
            strides[0] = Int32(width)
        }
        planes[1] = UnsafePointer(cb.baseAddress!)
        planes[2] = UnsafePointer(cr.baseAddress!)
        strides[1] = Int32(chromaWidth)
        strides[2] = Int32(chromaWidth)
        return true
    }

    /// Second half of `encode`: compresses the planes `splitPlanes` prepared.
    package func compressPlanes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        var size = outputCapacity
        var target = output
        let result = tjCompressFromYUVPlanes(
            handle, planes, Int32(width), strides, Int32(height), Int32(subsampling.rawValue), &target, &size,
            quality, Int32(TJFLAG_NOREALLOC))
        guard result == 0, let target else { return nil }
        return try body(UnsafeRawBufferPointer(start: target, count: Int(size)))
    }

    /// Encodes `frame` into a new array.
    package func encode(_ frame: Frame) -> [UInt8]? { encode(frame) { Array($0) } }
}
