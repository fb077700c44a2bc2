import CTurboJPEG
import HubCore

/// Decodes a camera's MJPEG frames straight to grey, into a buffer the caller reuses frame after frame.
///
/// USB cameras send MJPEG at sizes and rates their bus cannot carry uncompressed (720p30 on USB 2.0). Many leave
/// the Huffman tables out of every frame, as Motion-JPEG allows; libjpeg-turbo then uses the standard tables.
public final class MJPEGDecoder {
    private let handle: tjhandle

    public init() throws(CaptureError) {
        guard let handle = tjInitDecompress() else {
            throw CaptureError("libjpeg-turbo could not start", isTransient: false)
        }
        self.handle = handle
    }

    deinit { tjDestroy(handle) }

    /// Decodes one frame of exactly `width` x `height` into `target` (rows of `width` bytes). A damaged frame, or
    /// one of another size, is an error that names the camera; the buffer is then left as it was.
    public func decodeGrey(
        _ jpeg: UnsafeRawBufferPointer, width: Int, height: Int, into target: FrameBuffer, camera: String
    ) throws(CaptureError) {
        precondition(target.bytes.count >= width * height, "the target buffer is smaller than a frame")
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
            throw CaptureError(
                "\(camera): a damaged MJPEG frame (\(String(cString: tjGetErrorStr2(handle))))", isTransient: true)
        }
        guard Int(frameWidth) == width, Int(frameHeight) == height else {
            throw CaptureError(
                "\(camera): an MJPEG frame of \(frameWidth)x\(frameHeight) where \(width)x\(height) was negotiated",
                isTransient: true)
        }
        let result = tjDecompress2(
            handle, source, UInt(jpeg.count), target.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
            Int32(width), Int32(width), Int32(height), Int32(TJPF_GRAY.rawValue), 0)
        guard result == 0 else {
            throw CaptureError(
                "\(camera): a damaged MJPEG frame (\(String(cString: tjGetErrorStr2(handle))))", isTransient: true)
        }
    }
}
