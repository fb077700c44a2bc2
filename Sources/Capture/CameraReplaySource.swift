import Foundation
import HubCore
import Synchronization

/// Pictures played as a USB camera delivers them, at its rate: each picture is turned once at `open()` into the
/// bytes a UVC camera sends (an MJPEG frame with 4:2:2 chroma and no Huffman tables, or a packed YUYV frame), and
/// every frame is then taken through the same path as a V4L2 camera's: MJPEG decoded by `MJPEGDecoder` into a
/// buffer made at open, YUYV and NV12 (colour output) handed over in a buffer of their own. For benchmarks and load tests that must cost
/// what a real camera costs, on machines without one.
///
/// A YUYV or NV12 frame is copied into its delivery buffer, which a camera's DMA would have done without the CPU; a
/// consumer may draw on it (the mirror does) without changing the pictures.
package final class CameraReplaySource: FrameSource {
    /// The camera format played.
    package enum Format: String, Sendable, CaseIterable {
        case mjpeg = "MJPG"
        case yuyv = "YUYV"
        case nv12 = "NV12"
    }

    package let name: String
    package let fps: Double
    package let format: Format
    package let output: V4L2Camera.Output
    package let width: Int
    package let height: Int
    /// Frames each picture is shown for.
    package let hold: Int
    /// Makes the pictures at `open()`: packed RGB images of exactly `width` x `height`.
    private let pictures: @Sendable () throws -> [[UInt8]]
    private let state: Mutex<State>

    private struct State {
        var payloads: [[UInt8]] = []
        var decoder: MJPEGDecoder?
        var buffer: FrameBuffer?
        var pacing: ReplayPacing
        var counters = FrameCounters()
    }

    /// A source named `name` (for logs) playing `pictures` in `format`, `hold` frames each, looping.
    package init(
        name: String, width: Int, height: Int, fps: Double, format: Format, output: V4L2Camera.Output, hold: Int = 1,
        pictures: @escaping @Sendable () throws -> [[UInt8]]
    ) {
        precondition(fps > 0 && hold >= 1 && width % 2 == 0 && height % 2 == 0)
        self.name = name
        self.width = width
        self.height = height
        self.fps = fps
        self.format = format
        self.output = output
        self.hold = hold
        self.pictures = pictures
        state = Mutex(State(pacing: ReplayPacing(fps: fps)))
    }

    package var description: String { "\(name) as a \(format.rawValue) camera at \(width)x\(height), \(fps) fps" }
    package var counters: FrameCounters { state.withLock { $0.counters } }

    package func open() async throws {
        let images = try pictures()
        guard !images.isEmpty else { throw CaptureError("\(name): no pictures to play", isTransient: false) }
        var payloads: [[UInt8]] = []
        for image in images {
            guard image.count == width * height * 3 else {
                throw CaptureError("\(name): a picture is not \(width)x\(height) RGB", isTransient: false)
            }
            switch format {
            case .mjpeg:
                guard let jpeg = CameraJPEG.encode(rgb: image, width: width, height: height) else {
                    throw CaptureError("\(name): libjpeg-turbo could not encode a picture", isTransient: false)
                }
                payloads.append(jpeg)
            case .yuyv:
                payloads.append(Self.yuyv(rgb: image, width: width, height: height))
            case .nv12:
                let frame = ColorImage.nv12(rgb: image, width: width, height: height)
                payloads.append(Array(frame.buffer.bytes.prefix(width * height * 3 / 2)))
            }
        }
        let colour = output == .colour ? (width, height) : (0, 0)
        let capacity =
            switch (format, output) {
            case (.mjpeg, .colour): width * height * 3 / 2
            case (.yuyv, .colour): width * height * 2
            case (.nv12, .colour): width * height * 3 / 2
            case (_, .luma): width * height
            }
        let format = self.format
        try state.withLock { state in
            // Made here, inside the lock that guards every use of it.
            state.decoder =
                format == .mjpeg ? try MJPEGDecoder(colourWidth: colour.0, colourHeight: colour.1) : nil
            state.payloads = payloads
            state.buffer = FrameBuffer(capacity: capacity)
            state.pacing.reset()
        }
    }

    package func next() async throws -> Frame? {
        let (tick, due) = state.withLock { $0.pacing.next() }
        try await ReplayPacing.wait(until: due)
        return try state.withLock { state -> Frame? in
            guard let buffer = state.buffer, !state.payloads.isEmpty else { return nil }
            let (current, skipped) = state.pacing.take(tick)
            state.counters.dropped += skipped
            // Frame `current` was captured when it was due: `tick`'s due time plus the ticks skipped.
            let lateness = ContinuousClock.now - due
            let late = Double(lateness.components.seconds) + Double(lateness.components.attoseconds) * 1e-18
            let captured = Date() - (late - Double(current - tick) / fps)
            let payload = state.payloads[Int((current / Int64(hold)) % Int64(state.payloads.count))]
            let frame: Frame
            switch (format, output) {
            case (.mjpeg, .colour):
                try payload.withUnsafeBytes { bytes in
                    try state.decoder!.decodeNV12(bytes, width: width, height: height, into: buffer, camera: name)
                }
                frame = Frame(
                    format: .nv12, width: width, height: height, bytesPerRow: width, captureTime: captured,
                    index: UInt64(current), buffer: buffer)
            case (.mjpeg, .luma):
                try payload.withUnsafeBytes { bytes in
                    try state.decoder!.decodeGrey(bytes, width: width, height: height, into: buffer, camera: name)
                }
                frame = Frame(
                    format: .grey, width: width, height: height, bytesPerRow: width, captureTime: captured,
                    index: UInt64(current), buffer: buffer)
            case (.yuyv, .colour):
                payload.withUnsafeBytes { buffer.bytes.copyMemory(from: $0) }
                frame = Frame(
                    format: .yuyv, width: width, height: height, bytesPerRow: width * 2, captureTime: captured,
                    index: UInt64(current), buffer: buffer)
            case (.nv12, .colour):
                payload.withUnsafeBytes { buffer.bytes.copyMemory(from: $0) }
                frame = Frame(
                    format: .nv12, width: width, height: height, bytesPerRow: width, captureTime: captured,
                    index: UInt64(current), buffer: buffer)
            case (.nv12, .luma):
                payload.withUnsafeBytes {
                    buffer.bytes.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<(width * height)]))
                }
                frame = Frame(
                    format: .grey, width: width, height: height, bytesPerRow: width, captureTime: captured,
                    index: UInt64(current), buffer: buffer)
            case (.yuyv, .luma):
                let target = buffer.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
                payload.withUnsafeBufferPointer { source in
                    for index in 0..<(width * height) { target[index] = source[2 * index] }
                }
                frame = Frame(
                    format: .grey, width: width, height: height, bytesPerRow: width, captureTime: captured,
                    index: UInt64(current), buffer: buffer)
            }
            state.counters.delivered += 1
            state.counters.converted += 1
            return frame
        }
    }

    package func close() {
        state.withLock { state in
            state.payloads = []
            state.decoder = nil
            state.buffer = nil
            state.pacing.reset()
        }
    }

    /// Packed YUYV (full-range BT.601, as UVC cameras' YCbCr) of an RGB image; each chroma pair averages two pixels.
    static func yuyv(rgb: [UInt8], width: Int, height: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: width * height * 2)
        for y in 0..<height {
            for pair in 0..<(width / 2) {
                var cb = 0.0
                var cr = 0.0
                for half in 0..<2 {
                    let p = (y * width + 2 * pair + half) * 3
                    let (r, g, b) = (Double(rgb[p]), Double(rgb[p + 1]), Double(rgb[p + 2]))
                    out[(y * width + 2 * pair) * 2 + 2 * half] = UInt8(
                        clamping: Int((0.299 * r + 0.587 * g + 0.114 * b).rounded()))
                    cb += 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
                    cr += 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
                }
                out[(y * width + 2 * pair) * 2 + 1] = UInt8(clamping: Int((cb / 2).rounded()))
                out[(y * width + 2 * pair) * 2 + 3] = UInt8(clamping: Int((cr / 2).rounded()))
            }
        }
        return out
    }

    /// Pictures of a portrait as a camera at a mirror sees it: the photo scaled to the frame's height (centred,
    /// on grey) in `poses` steps of the synthetic head motion `PortraitSource.motion` (two frames of a 30 fps
    /// camera apart), so that tracking follows a moving face.
    package static func portraitPictures(file: URL, width: Int, height: Int, poses: Int = 12) throws -> [[UInt8]] {
        let (rgb, stillWidth, stillHeight) = try ColorImage.loadRGB(file)
        let scale = min(Float(width) / Float(stillWidth), Float(height) / Float(stillHeight))
        let center = SIMD2(Float(width), Float(height)) / 2
        let stillCenter = SIMD2(Float(stillWidth), Float(stillHeight)) / 2
        return (0..<poses).map { pose in
            let motion = PortraitSource.motion(at: UInt64(2 * pose), fps: 30, moves: true, width: width)
            var out = [UInt8](repeating: 110, count: width * height * 3)
            let c = cos(-motion.angle) / (motion.scale * scale)
            let s = sin(-motion.angle) / (motion.scale * scale)
            for y in 0..<height {
                for x in 0..<width {
                    // Inverse map: frame pixel → photo pixel.
                    let p = SIMD2(Float(x), Float(y)) - center - motion.offset
                    let q = SIMD2(c * p.x - s * p.y, s * p.x + c * p.y) + stillCenter
                    let ix = Int(q.x.rounded(.down))
                    let iy = Int(q.y.rounded(.down))
                    guard ix >= 0, iy >= 0, ix < stillWidth - 1, iy < stillHeight - 1 else { continue }
                    let fx = q.x - Float(ix)
                    let fy = q.y - Float(iy)
                    for channel in 0..<3 {
                        let at = { (dx: Int, dy: Int) in Float(rgb[((iy + dy) * stillWidth + ix + dx) * 3 + channel]) }
                        let top = at(0, 0) * (1 - fx) + at(1, 0) * fx
                        let bottom = at(0, 1) * (1 - fx) + at(1, 1) * fx
                        out[(y * width + x) * 3 + channel] = UInt8((top * (1 - fy) + bottom * fy).rounded())
                    }
                }
            }
            return out
        }
    }

    /// The grey pictures of a replay folder (`.jpg`, `.pgm`, sorted by name) as RGB, each exactly `width` x `height`:
    /// a kiosk's scan window as a camera sees it.
    package static func folderPictures(folder: URL, width: Int, height: Int) throws -> [[UInt8]] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.filter {
            let lower = $0.lowercased()
            return lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") || lower.hasSuffix(".pgm")
        }.sorted()
        guard let names, !names.isEmpty else {
            throw CaptureError(
                "replay folder \(folder.path) is missing or holds no .jpg or .pgm images", isTransient: true)
        }
        return try names.map { name in
            let grey = try ImageFile.loadGrey(folder.appendingPathComponent(name))
            guard grey.width == width, grey.height == height, let luma = grey.lumaPlane else {
                throw CaptureError(
                    "\(folder.path)/\(name) is \(grey.width)x\(grey.height), not the camera's \(width)x\(height)",
                    isTransient: false)
            }
            var rgb = [UInt8](repeating: 0, count: width * height * 3)
            for y in 0..<height {
                for x in 0..<width {
                    let value = luma[y * grey.bytesPerRow + x]
                    rgb[(y * width + x) * 3] = value
                    rgb[(y * width + x) * 3 + 1] = value
                    rgb[(y * width + x) * 3 + 2] = value
                }
            }
            return rgb
        }
    }
}
