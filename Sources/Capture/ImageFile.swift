import CPNG
import CTurboJPEG
import Foundation
import HubCore

/// Decodes still images (PNG, JPEG, binary PGM) into grey frames for replay and `storehub decode`.
package enum ImageFile {
    /// Decodes the file's luma into a new buffer. Errors name the file and what is wrong with it.
    package static func loadGrey(_ url: URL) throws(CaptureError) -> Frame {
        let bytes = try read(url)
        if bytes.starts(with: [0xFF, 0xD8]) { return try JPEG.decodeGrey(bytes, name: url.path) }
        if bytes.starts(with: [UInt8(ascii: "P"), UInt8(ascii: "5")]) { return try PGM.decode(bytes, name: url.path) }
        if bytes.starts(with: PNG.signature) { return try PNG.decodeGrey(bytes, name: url.path) }
        throw CaptureError("\(url.path): not a PNG, JPEG or binary PGM image", isTransient: false)
    }

    /// The file's bytes; the error names it.
    static func read(_ url: URL) throws(CaptureError) -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            throw CaptureError("\(url.path): cannot be read", isTransient: false)
        }
    }
}

/// JPEG decoding with libjpeg-turbo.
package enum JPEG {
    /// Decodes a JPEG straight to 8-bit grey (libjpeg-turbo skips the chroma work).
    package static func decodeGrey(_ jpeg: [UInt8], name: String) throws(CaptureError) -> Frame {
        let (buffer, width, height) = try decode(jpeg, name: name, channels: 1)
        return Frame(
            format: .grey, width: width, height: height, bytesPerRow: width, captureTime: Date(), index: 0,
            buffer: buffer)
    }

    /// Decodes a JPEG to packed pixels of `channels` bytes: 1 (grey) or 3 (RGB), rows without padding.
    static func decode(_ jpeg: [UInt8], name: String, channels: Int) throws(CaptureError) -> (FrameBuffer, Int, Int) {
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
        guard header == 0, width > 0, height > 0, Int(width) * Int(height) <= PNG.maxPixels else {
            throw CaptureError(
                "\(name): not a readable JPEG (\(String(cString: tjGetErrorStr2(handle))))", isTransient: false)
        }
        let stride = Int(width) * channels
        let buffer = FrameBuffer(capacity: stride * Int(height))
        let format = channels == 3 ? TJPF_RGB : TJPF_GRAY
        let result = jpeg.withUnsafeBufferPointer { source in
            tjDecompress2(
                handle, source.baseAddress, UInt(source.count),
                buffer.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                width, Int32(stride), height, Int32(format.rawValue), 0)
        }
        guard result == 0 else {
            throw CaptureError(
                "\(name): JPEG data is damaged (\(String(cString: tjGetErrorStr2(handle))))", isTransient: false)
        }
        return (buffer, Int(width), Int(height))
    }
}

/// PNG decoding with libpng's simplified API.
package enum PNG {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// Larger images are refused rather than allocated (a damaged header can claim gigapixels).
    static let maxPixels = 64 * 1024 * 1024

    /// Decodes a PNG to 8-bit grey; colour and alpha are reduced to grey.
    package static func decodeGrey(_ png: [UInt8], name: String) throws(CaptureError) -> Frame {
        let (buffer, width, height) = try decode(png, name: name, channels: 1)
        return Frame(
            format: .grey, width: width, height: height, bytesPerRow: width, captureTime: Date(), index: 0,
            buffer: buffer)
    }

    /// Decodes a PNG to packed pixels of `channels` bytes: 1 (grey) or 3 (RGB; alpha composed over black).
    static func decode(_ png: [UInt8], name: String, channels: Int) throws(CaptureError) -> (FrameBuffer, Int, Int) {
        // libpng reads the memory until the image is finished, so both steps run inside one borrow of it.
        let result: Result<(FrameBuffer, Int, Int), CaptureError> = png.withUnsafeBytes { raw in
            var image = png_image()
            defer { png_image_free(&image) }
            let begun =
                channels == 3
                ? storehub_png_begin_rgb(&image, raw.baseAddress, raw.count)
                : storehub_png_begin_grey(&image, raw.baseAddress, raw.count)
            guard begun != 0 else {
                return .failure(CaptureError("\(name): not a readable PNG (\(message(image)))", isTransient: false))
            }
            let width = Int(image.width)
            let height = Int(image.height)
            guard width > 0, height > 0, width * height <= maxPixels else {
                return .failure(
                    CaptureError("\(name): PNG of \(width)x\(height) pixels is too large", isTransient: false))
            }
            let buffer = FrameBuffer(capacity: width * height * channels)
            guard storehub_png_finish(&image, buffer.bytes.baseAddress, Int32(width * channels)) != 0 else {
                return .failure(CaptureError("\(name): PNG data is damaged (\(message(image)))", isTransient: false))
            }
            return .success((buffer, width, height))
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
