import CPNG
import CTurboJPEG
import Foundation
import HubCore

/// Decodes still images (PNG, JPEG, binary PGM) into grey frames for replay and `storehub decode`.
public enum ImageFile {
    /// Decodes the file's luma into a new buffer. Errors name the file and what is wrong with it.
    public static func loadGrey(_ url: URL) throws(CaptureError) -> Frame {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CaptureError("\(url.path): cannot be read", isTransient: false)
        }
        let bytes = [UInt8](data)
        if bytes.starts(with: [0xFF, 0xD8]) { return try JPEG.decodeGrey(bytes, name: url.path) }
        if bytes.starts(with: [UInt8(ascii: "P"), UInt8(ascii: "5")]) { return try PGM.decode(bytes, name: url.path) }
        if bytes.starts(with: PNG.signature) { return try PNG.decodeGrey(bytes, name: url.path) }
        throw CaptureError("\(url.path): not a PNG, JPEG or binary PGM image", isTransient: false)
    }
}

/// JPEG decoding with libjpeg-turbo.
public enum JPEG {
    /// Decodes a JPEG straight to 8-bit grey (libjpeg-turbo skips the chroma work).
    public static func decodeGrey(_ jpeg: [UInt8], name: String) throws(CaptureError) -> Frame {
        guard let handle = tjInitDecompress() else {
            throw CaptureError("libjpeg-turbo could not start", isTransient: false)
        }
        defer { tjDestroy(handle) }
        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        let header = jpeg.withUnsafeBufferPointer { buffer in
            tjDecompressHeader3(
                handle, buffer.baseAddress, UInt(buffer.count), &width, &height, &subsampling, &colorspace)
        }
        guard header == 0, width > 0, height > 0 else {
            throw CaptureError(
                "\(name): not a readable JPEG (\(String(cString: tjGetErrorStr2(handle))))", isTransient: false)
        }
        let stride = Int(width)
        let buffer = FrameBuffer(capacity: stride * Int(height))
        let result = jpeg.withUnsafeBufferPointer { source in
            tjDecompress2(
                handle, source.baseAddress, UInt(source.count),
                buffer.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                width, Int32(stride), height, Int32(TJPF_GRAY.rawValue), 0)
        }
        guard result == 0 else {
            throw CaptureError(
                "\(name): JPEG data is damaged (\(String(cString: tjGetErrorStr2(handle))))", isTransient: false)
        }
        return Frame(
            format: .grey, width: Int(width), height: Int(height), bytesPerRow: stride, captureTime: Date(), index: 0,
            buffer: buffer)
    }
}

/// PNG decoding with libpng's simplified API; colour and alpha are reduced to grey.
public enum PNG {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// Larger images are refused rather than allocated (a damaged header can claim gigapixels).
    static let maxPixels = 64 * 1024 * 1024

    /// Decodes a PNG to 8-bit grey.
    public static func decodeGrey(_ png: [UInt8], name: String) throws(CaptureError) -> Frame {
        // libpng reads the memory until the image is finished, so both steps run inside one borrow of it.
        let result: Result<Frame, CaptureError> = png.withUnsafeBytes { raw in
            var image = png_image()
            defer { png_image_free(&image) }
            guard storehub_png_begin_grey(&image, raw.baseAddress, raw.count) != 0 else {
                return .failure(CaptureError("\(name): not a readable PNG (\(message(image)))", isTransient: false))
            }
            let width = Int(image.width)
            let height = Int(image.height)
            guard width > 0, height > 0, width * height <= maxPixels else {
                return .failure(
                    CaptureError("\(name): PNG of \(width)x\(height) pixels is too large", isTransient: false))
            }
            let buffer = FrameBuffer(capacity: width * height)
            guard storehub_png_finish(&image, buffer.bytes.baseAddress, Int32(width)) != 0 else {
                return .failure(CaptureError("\(name): PNG data is damaged (\(message(image)))", isTransient: false))
            }
            return .success(
                Frame(
                    format: .grey, width: width, height: height, bytesPerRow: width, captureTime: Date(), index: 0,
                    buffer: buffer))
        }
        return try result.get()
    }

    private static func message(_ image: png_image) -> String {
        var copy = image.message
        return withUnsafeBytes(of: &copy) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

/// Binary PGM (P5, 8-bit), the simplest lossless grey format for test images.
enum PGM {
    static func decode(_ bytes: [UInt8], name: String) throws(CaptureError) -> Frame {
        var position = 2
        func field() -> Int? {
            while position < bytes.count {
                let c = bytes[position]
                if c == UInt8(ascii: "#") {
                    while position < bytes.count && bytes[position] != 0x0A { position += 1 }
                } else if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                    position += 1
                } else {
                    break
                }
            }
            var value = 0
            var digits = 0
            while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39, digits < 7 {
                value = value * 10 + Int(bytes[position] - 0x30)
                position += 1
                digits += 1
            }
            return digits > 0 ? value : nil
        }
        guard let width = field(), let height = field(), let maxValue = field(), width > 0, height > 0 else {
            throw CaptureError("\(name): PGM header is damaged", isTransient: false)
        }
        guard maxValue == 255 else { throw CaptureError("\(name): only 8-bit PGM is supported", isTransient: false) }
        position += 1
        guard bytes.count - position >= width * height else {
            throw CaptureError("\(name): PGM has fewer pixels than its header says", isTransient: false)
        }
        let buffer = FrameBuffer(capacity: width * height)
        bytes.withUnsafeBytes { source in
            buffer.bytes.copyMemory(
                from: UnsafeRawBufferPointer(rebasing: source[position..<(position + width * height)]))
        }
        return Frame(
            format: .grey, width: width, height: height, bytesPerRow: width, captureTime: Date(), index: 0,
            buffer: buffer)
    }
}
