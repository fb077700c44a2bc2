import CTurboJPEG
import Foundation
import HubCore
import Testing

@testable import Capture

/// The mirror's MJPEG path: camera-like JPEG frames (4:2:2, no Huffman tables) decoded to NV12 without RGB, and
/// the stream encoder keeping the layout the camera gave.
@Suite struct MJPEGColourTests {
    static let width = 320
    static let height = 240

    /// Six flat colour patches (3 x 2) with a little deterministic noise, as RGB.
    static let patchColours: [SIMD3<Double>] = [
        SIMD3(200, 30, 40), SIMD3(30, 160, 60), SIMD3(40, 60, 210), SIMD3(230, 200, 60), SIMD3(120, 40, 150),
        SIMD3(128, 128, 128),
    ]

    static func patches() -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        var seed: UInt32 = 99
        for y in 0..<height {
            for x in 0..<width {
                seed = seed &* 1_103_515_245 &+ 12345
                let noise = Double(Int((seed >> 16) % 5) - 2)
                let colour = patchColours[(y / (height / 2)) * 3 + min(x / (width / 3), 2)]
                for channel in 0..<3 {
                    rgb[(y * width + x) * 3 + channel] = UInt8(clamping: Int((colour[channel] + noise).rounded()))
                }
            }
        }
        return rgb
    }

    /// JPEG's full-range BT.601 chroma of an RGB colour.
    static func chroma(_ rgb: SIMD3<Double>) -> (cb: Double, cr: Double) {
        (
            128 - 0.168736 * rgb.x - 0.331264 * rgb.y + 0.5 * rgb.z,
            128 + 0.5 * rgb.x - 0.418688 * rgb.y - 0.081312 * rgb.z
        )
    }

    func decodeNV12(_ jpeg: [UInt8], width: Int = width, height: Int = height) throws -> FrameBuffer {
        let decoder = try MJPEGDecoder(colourWidth: width, colourHeight: height)
        let target = FrameBuffer(capacity: width * height * 3 / 2)
        try jpeg.withUnsafeBytes {
            try decoder.decodeNV12($0, width: width, height: height, into: target, camera: "cam")
        }
        return target
    }

    @Test func aCameraFrameKeepsItsLumaExactly() throws {
        let jpeg = try #require(CameraJPEG.encode(rgb: Self.patches(), width: Self.width, height: Self.height))
        let grey = try JPEG.decodeGrey(jpeg, name: "camera frame")
        let nv12 = try decodeNV12(jpeg)
        #expect(Array(nv12.bytes.prefix(Self.width * Self.height)) == Array(grey.lumaPlane!))
    }

    @Test(arguments: [TJSAMP_422, TJSAMP_420, TJSAMP_444, TJSAMP_440])
    func eachPatchKeepsItsColourInNV12Chroma(subsampling: TJSAMP) throws {
        let jpeg = try #require(
            CameraJPEG.encode(
                rgb: Self.patches(), width: Self.width, height: Self.height, quality: 95, subsampling: subsampling))
        try #require(jpeg.withUnsafeBytes { CameraJPEG.subsampling(of: $0) } == subsampling)
        #expect(!jpeg.contains(sequence: [0xFF, 0xC4]), "a camera-like frame has no Huffman tables")
        let nv12 = try decodeNV12(jpeg)
        let chroma = Self.width * Self.height
        for (index, colour) in Self.patchColours.enumerated() {
            // The middle of the patch, in chroma samples: away from edges where the JPEG blurs.
            let cx = (index % 3) * (Self.width / 6) + Self.width / 12
            let cy = (index / 3) * (Self.height / 4) + Self.height / 8
            var cb = 0.0
            var cr = 0.0
            for dy in -4...4 {
                for dx in -4...4 {
                    let sample = chroma + (cy + dy) * Self.width + 2 * (cx + dx)
                    cb += Double(nv12.bytes[sample])
                    cr += Double(nv12.bytes[sample + 1])
                }
            }
            let expected = Self.chroma(colour)
            #expect(abs(cb / 81 - expected.cb) < 2.5, "patch \(index) Cb \(cb / 81), expected \(expected.cb)")
            #expect(abs(cr / 81 - expected.cr) < 2.5, "patch \(index) Cr \(cr / 81), expected \(expected.cr)")
        }
    }

    @Test func aGreyFrameGetsNeutralChroma() throws {
        let handle = try #require(tjInitCompress())
        defer { tjDestroy(handle) }
        let luma = [UInt8](repeating: 90, count: Self.width * Self.height)
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        try #require(
            tjCompress2(
                handle, luma, Int32(Self.width), 0, Int32(Self.height), Int32(TJPF_GRAY.rawValue), &output, &size,
                Int32(TJSAMP_GRAY.rawValue), 90, 0) == 0)
        defer { tjFree(output) }
        let nv12 = try decodeNV12(Array(UnsafeBufferPointer(start: output, count: Int(size))))
        let chroma = nv12.bytes[(Self.width * Self.height)..<(Self.width * Self.height * 3 / 2)]
        #expect(chroma.allSatisfy { $0 == 128 })
    }

    @Test func aTruncatedOrGarbageFrameIsAnErrorNotACrash() throws {
        let jpeg = try #require(CameraJPEG.encode(rgb: Self.patches(), width: Self.width, height: Self.height))
        let decoder = try MJPEGDecoder(colourWidth: Self.width, colourHeight: Self.height)
        let target = FrameBuffer(capacity: Self.width * Self.height * 3 / 2)
        for damaged in [Array(jpeg.prefix(200)), [UInt8](repeating: 0x5A, count: 4000), []] {
            #expect(throws: CaptureError.self) {
                try damaged.withUnsafeBytes {
                    try decoder.decodeNV12($0, width: Self.width, height: Self.height, into: target, camera: "cam")
                }
            }
        }
    }

    @Test func aFrameOfAnotherSizeIsAnError() throws {
        let jpeg = try #require(CameraJPEG.encode(rgb: Self.patches(), width: Self.width, height: Self.height))
        let error = #expect(throws: CaptureError.self) { _ = try decodeNV12(jpeg, width: 640, height: 480) }
        #expect(error?.message.contains("320x240") == true)
    }

    @Test func theStreamEncoderKeepsTheCamerasChromaLayout() throws {
        let jpeg = try #require(CameraJPEG.encode(rgb: Self.patches(), width: Self.width, height: Self.height))
        let nv12 = Frame(
            format: .nv12, width: Self.width, height: Self.height, bytesPerRow: Self.width, captureTime: Date(),
            index: 0, buffer: try decodeNV12(jpeg))
        let yuyvBuffer = FrameBuffer(capacity: Self.width * Self.height * 2)
        let yuyv = Frame(
            format: .yuyv, width: Self.width, height: Self.height, bytesPerRow: Self.width * 2, captureTime: Date(),
            index: 0, buffer: yuyvBuffer)
        let encoder = try #require(ColorJPEGEncoder(quality: 90))
        let fromNV12 = try #require(encoder.encode(nv12))
        let fromYUYV = try #require(encoder.encode(yuyv))
        #expect(fromNV12.withUnsafeBytes { CameraJPEG.subsampling(of: $0) } == TJSAMP_420)
        #expect(fromYUYV.withUnsafeBytes { CameraJPEG.subsampling(of: $0) } == TJSAMP_422)
        // The stream shows the camera's colours: decoded back, each patch is still its colour.
        let (rgb, _, _) = try ColorImage.decodeJPEG(fromNV12, name: "stream frame")
        for (index, colour) in Self.patchColours.enumerated() {
            let x = (index % 3) * (Self.width / 3) + Self.width / 6
            let y = (index / 3) * (Self.height / 2) + Self.height / 4
            let p = (y * Self.width + x) * 3
            let got = SIMD3(Double(rgb[p]), Double(rgb[p + 1]), Double(rgb[p + 2]))
            #expect(((got - colour) * (got - colour)).sum().squareRoot() < 16, "patch \(index): \(got) vs \(colour)")
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func contains(sequence: [UInt8]) -> Bool {
        guard count >= sequence.count else { return false }
        return (0...(count - sequence.count)).contains { Array(self[$0..<($0 + sequence.count)]) == sequence }
    }
}
