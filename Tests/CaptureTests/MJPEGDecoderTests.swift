import CTurboJPEG
import Capture
import Foundation
import HubCore
import Testing

/// The MJPEG path of V4L2Camera, on JPEG frames like a USB camera sends (no camera driver here produces MJPEG).
@Suite struct MJPEGDecoderTests {
    /// A frame as a UVC camera encodes it: baseline JPEG, 4:2:2 chroma, the standard Huffman tables; the picture
    /// is a demo image made by scripts/gen-demo-media at set-up.
    static func demoFrame() throws -> [UInt8] {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Assets/demo/media/kiosk-aisle")
        let file = try #require(
            try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().first { $0.hasSuffix(".jpg") },
            "demo media missing: run scripts/gen-demo-media (make test does)")
        let still = try JPEG.decodeGrey([UInt8](try Data(contentsOf: folder.appendingPathComponent(file))), name: file)
        let rgb = still.lumaPlane!.flatMap { [$0, $0, $0] }
        let handle = try #require(tjInitCompress())
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let result = tjCompress2(
            handle, rgb, Int32(still.width), 0, Int32(still.height), Int32(TJPF_RGB.rawValue), &output, &size,
            Int32(TJSAMP_422.rawValue), 85, 0)
        try #require(result == 0 && output != nil, "libjpeg-turbo could not encode the test frame")
        defer { tjFree(output) }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }

    func decode(_ jpeg: [UInt8], width: Int, height: Int) throws -> [UInt8] {
        let decoder = try MJPEGDecoder()
        let target = FrameBuffer(capacity: width * height)
        try jpeg.withUnsafeBytes {
            try decoder.decodeGrey($0, width: width, height: height, into: target, camera: "cam")
        }
        return Array(target.bytes.prefix(width * height))
    }

    @Test func decodesTheLumaThatTheStillImageDecoderSees() throws {
        let jpeg = try Self.demoFrame()
        let still = try JPEG.decodeGrey(jpeg, name: "demo")
        let luma = try decode(jpeg, width: still.width, height: still.height)
        #expect(luma == Array(still.lumaPlane!))
    }

    @Test func framesWithoutHuffmanTablesDecodeWithTheStandardOnes() throws {
        let jpeg = try Self.demoFrame()
        let stripped = CameraJPEG.withoutHuffmanTables(jpeg)
        try #require(stripped.count < jpeg.count, "the demo JPEG should carry DHT segments to strip")
        let still = try JPEG.decodeGrey(jpeg, name: "demo")
        #expect(try decode(stripped, width: still.width, height: still.height) == Array(still.lumaPlane!))
    }

    @Test func aFrameOfAnotherSizeIsAnErrorThatNamesBothSizes() throws {
        let jpeg = try Self.demoFrame()
        let error = #expect(throws: CaptureError.self) { _ = try decode(jpeg, width: 640, height: 480) }
        #expect(error?.message.contains("640x480") == true)
        #expect(error?.message.contains("1280x720") == true)
    }

    @Test func aTruncatedOrGarbageFrameIsAnErrorNotACrash() throws {
        let jpeg = try Self.demoFrame()
        #expect(throws: CaptureError.self) { _ = try decode(Array(jpeg.prefix(300)), width: 1280, height: 720) }
        #expect(throws: CaptureError.self) {
            _ = try decode([UInt8](repeating: 0xAB, count: 5000), width: 1280, height: 720)
        }
        #expect(throws: CaptureError.self) { _ = try decode([], width: 1280, height: 720) }
    }
}
