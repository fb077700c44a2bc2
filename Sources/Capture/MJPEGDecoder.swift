import CTurboJPEG
import HubCore

/// Decodes a camera's MJPEG frames straight to grey (kiosks) or to NV12 (mirrors), into buffers the caller reuses
/// frame after frame.
///
/// USB cameras send MJPEG at sizes and rates their bus cannot carry uncompressed (720p30 on USB 2.0). Many leave
/// the Huffman tables out of every frame, as Motion-JPEG allows; libjpeg-turbo then uses the standard tables.
package final class MJPEGDecoder {
    private let handle: tjhandle
    /// Cb and Cr planes as the JPEG holds them (4:2:2 from most UVC cameras), made once for the largest chroma
    /// a frame of the size given at init can have (4:4:4); empty for a grey-only decoder.
    private let chroma: UnsafeMutableBufferPointer<UInt8>
    private let chromaCapacity: Int
    private let planes = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: 3)
    private let strides = UnsafeMutablePointer<Int32>.allocate(capacity: 3)

    /// A decoder for grey output, or for colour output of frames up to `colourWidth` x `colourHeight`.
    package init(colourWidth: Int = 0, colourHeight: Int = 0) throws(CaptureError) {
        guard let handle = tjInitDecompress() else {
            throw CaptureError("libjpeg-turbo could not start", isTransient: false)
        }
        self.handle = handle
        chromaCapacity = max(colourWidth, 0) * max(colourHeight, 0)
        chroma = .allocate(capacity: 2 * chromaCapacity)
        planes.initialize(repeating: nil, count: 3)
        strides.initialize(repeating: 0, count: 3)
    }

    deinit {
        chroma.deallocate()
        planes.deallocate()
        strides.deallocate()
        tjDestroy(handle)
    }

    /// Checks the frame's header: it must be a JPEG of exactly `width` x `height`. Returns its chroma subsampling.
    private func header(
        _ jpeg: UnsafeRawBufferPointer, width: Int, height: Int, camera: String
    ) throws(CaptureError) -> (source: UnsafePointer<UInt8>, subsampling: Int32) {
        guard let source = jpeg.baseAddress?.assumingMemoryBound(to: UInt8.self), jpeg.count > 4 else {
            throw CaptureError("\(camera): an empty MJPEG frame", isTransient: true)
        }
        var frameWidth: Int32 = 0
        var frameHeight: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        guard
            tjDecompressHeader3(
                handle, source, UInt(jpeg.count), &frameWidth, &frameHeight, &subsampling, &colorspace) == 0
        else {
            throw damaged(camera)
        }
        guard Int(frameWidth) == width, Int(frameHeight) == height else {
            throw CaptureError(
                "\(camera): an MJPEG frame of \(frameWidth)x\(frameHeight) where \(width)x\(height) was negotiated",
                isTransient: true)
        }
        return (source, subsampling)
    }

    private func damaged(_ camera: String) -> CaptureError {
        CaptureError("\(camera): a damaged MJPEG frame (\(String(cString: tjGetErrorStr2(handle))))", isTransient: true)
    }

    /// Decodes one frame of exactly `width` x `height` into `target` (rows of `width` bytes). A damaged frame, or
    /// one of another size, is an error that names the camera; the buffer is then left as it was.
    package func decodeGrey(
        _ jpeg: UnsafeRawBufferPointer, width: Int, height: Int, into target: FrameBuffer, camera: String
    ) throws(CaptureError) {
        precondition(target.bytes.count >= width * height, "the target buffer is smaller than a frame")
        let (source, _) = try header(jpeg, width: width, height: height, camera: camera)
        let result = tjDecompress2(
            handle, source, UInt(jpeg.count), target.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
            Int32(width), Int32(width), Int32(height), Int32(TJPF_GRAY.rawValue), 0)
        guard result == 0 else { throw damaged(camera) }
    }

    /// Decodes one frame of exactly `width` x `height` (both even) into `target` as NV12 with rows of `width`
    /// bytes, without going through RGB: libjpeg-turbo writes the luma plane straight into `target` and the chroma
    /// planes as the JPEG holds them into the decoder's own planes, which are then folded into NV12's interleaved
    /// half-size chroma (4:2:2, the UVC cameras' usual, averages row pairs). Grey JPEGs get neutral chroma.
    ///
    /// Folding touches only the chroma, a third of the output: cheaper than interleaving a whole frame into YUYV,
    /// and the NV12 frame then goes to the face pipeline, the renderer and the 4:2:0 stream as it is.
    package func decodeNV12(
        _ jpeg: UnsafeRawBufferPointer, width: Int, height: Int, into target: FrameBuffer, camera: String
    ) throws(CaptureError) {
        precondition(width % 2 == 0 && height % 2 == 0, "NV12 frames have even sizes")
        precondition(target.bytes.count >= width * height * 3 / 2, "the target buffer is smaller than an NV12 frame")
        precondition(width * height <= chromaCapacity, "the decoder was made for smaller colour frames")
        let (source, subsampling) = try header(jpeg, width: width, height: height, camera: camera)
        let luma = target.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let folded = luma + width * height
        if subsampling == Int32(TJSAMP_GRAY.rawValue) {
            let result = tjDecompress2(
                handle, source, UInt(jpeg.count), luma, Int32(width), Int32(width), Int32(height),
                Int32(TJPF_GRAY.rawValue), 0)
            guard result == 0 else { throw damaged(camera) }
            folded.update(repeating: 128, count: width * height / 2)
            return
        }
        let step: (x: Int, y: Int)
        switch subsampling {
        case Int32(TJSAMP_420.rawValue): step = (1, 1)
        case Int32(TJSAMP_422.rawValue): step = (1, 2)
        case Int32(TJSAMP_444.rawValue): step = (2, 2)
        case Int32(TJSAMP_440.rawValue): step = (2, 1)
        default:
            throw CaptureError(
                "\(camera): an MJPEG frame with 4:1:1 chroma, which StoreHub does not decode", isTransient: true)
        }
        let chromaWidth = Int(tjPlaneWidth(1, Int32(width), subsampling))
        let chromaHeight = Int(tjPlaneHeight(1, Int32(height), subsampling))
        let cb = chroma.baseAddress!
        let cr = cb + chromaCapacity
        planes[0] = luma
        planes[1] = cb
        planes[2] = cr
        strides[0] = Int32(width)
        strides[1] = Int32(chromaWidth)
        strides[2] = Int32(chromaWidth)
        let result = tjDecompressToYUVPlanes(
            handle, source, UInt(jpeg.count), planes, Int32(width), strides, Int32(height), 0)
        guard result == 0 else { throw damaged(camera) }
        Self.fold(
            cb: cb, cr: cr, chromaWidth: chromaWidth, chromaHeight: chromaHeight, step: step, into: folded,
            width: width / 2, height: height / 2)
    }

    /// Interleaves Cb and Cr into NV12 chroma of `width` x `height` samples, averaging the `step.x` x `step.y`
    /// source samples each covers (the last source row or column repeats where the plane is shorter).
    static func fold(
        cb: UnsafePointer<UInt8>, cr: UnsafePointer<UInt8>, chromaWidth: Int, chromaHeight: Int,
        step: (x: Int, y: Int), into out: UnsafeMutablePointer<UInt8>, width: Int, height: Int
    ) {
        for y in 0..<height {
            let top = min(y * step.y, chromaHeight - 1) * chromaWidth
            let bottom = min(y * step.y + step.y - 1, chromaHeight - 1) * chromaWidth
            let row = out + y * 2 * width
            switch step {
            case (1, 1):
                for x in 0..<width {
                    row[2 * x] = cb[top + x]
                    row[2 * x + 1] = cr[top + x]
                }
            case (1, 2):
                for x in 0..<width {
                    row[2 * x] = UInt8((UInt16(cb[top + x]) + UInt16(cb[bottom + x]) + 1) >> 1)
                    row[2 * x + 1] = UInt8((UInt16(cr[top + x]) + UInt16(cr[bottom + x]) + 1) >> 1)
                }
            default:
                let span = step.x * step.y
                for x in 0..<width {
                    var u = 0
                    var v = 0
                    for dx in 0..<step.x {
                        let column = min(x * step.x + dx, chromaWidth - 1)
                        u += Int(cb[top + column])
                        v += Int(cr[top + column])
                        if step.y == 2 {
                            u += Int(cb[bottom + column])
                            v += Int(cr[bottom + column])
                        }
                    }
                    row[2 * x] = UInt8((u + span / 2) / span)
                    row[2 * x + 1] = UInt8((v + span / 2) / span)
                }
            }
        }
    }
}
