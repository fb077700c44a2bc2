import FaceMesh
import Foundation
import HubCore
import StoreHubTestSupport
import Testing

/// A portrait with MediaPipe's own landmarks for it (Tests/Fixtures/faces, made by scripts/reference/face_landmarks.py).
struct Portrait {
    struct Fixture: Decodable {
        let image: String
        let width: Int
        let height: Int
        let landmarks: [[Float]]
    }

    let name: String
    let fixture: Fixture
    let width: Int
    let height: Int
    let rgb: [UInt8]

    static let names = ["grace_hopper", "astronaut"]

    /// The files the portrait tests read.
    static let files =
        names.map { ReferenceFiles.layers.appendingPathComponent("faces/\($0).ppm") } + [
            ReferenceFiles.detectorModel, ReferenceFiles.landmarkModel,
        ]

    static func load(_ name: String) throws -> Portrait {
        let ppm = ReferenceFiles.layers.appendingPathComponent("faces/\(name).ppm")
        let json = ReferenceFiles.fixtures.appendingPathComponent("\(name).json")
        try ReferenceFiles.require([ppm, ReferenceFiles.detectorModel, ReferenceFiles.landmarkModel])
        let fixture = try JSONDecoder().decode(Fixture.self, from: try Data(contentsOf: json))
        let data = [UInt8](try Data(contentsOf: ppm))
        let header = String(decoding: data.prefix(32), as: UTF8.self).split(whereSeparator: \.isWhitespace)
        let width = Int(header[1])!
        let height = Int(header[2])!
        let headerLength = "P6\n\(width) \(height)\n255\n".utf8.count
        #expect(width == fixture.width && height == fixture.height)
        return Portrait(name: name, fixture: fixture, width: width, height: height, rgb: Array(data[headerLength...]))
    }

    /// The portrait and a fresh landmarker.
    static func withLandmarker(_ name: String) throws -> (Portrait, FaceLandmarker) {
        (try load(name), try FaceLandmarker(modelsDirectory: ReferenceFiles.models))
    }

    var referenceInterOcular: Float {
        let a = fixture.landmarks[33]
        let b = fixture.landmarks[263]
        return ((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1])).squareRoot()
    }

    /// Mean 2-D distance of the lip landmarks (both contours) from MediaPipe's, as a fraction of the
    /// reference's inter-ocular distance (outer eye corners).
    func lipError(_ found: FaceLandmarks) -> Float {
        let lips = FaceLandmarker.outerLipContour + FaceLandmarker.innerLipContour
        var total: Float = 0
        for index in lips {
            let p = found.points[index]
            let q = fixture.landmarks[index]
            total += ((p.x - q[0]) * (p.x - q[0]) + (p.y - q[1]) * (p.y - q[1])).squareRoot()
        }
        return total / Float(lips.count) / referenceInterOcular
    }

    func yuv(_ x: Int, _ y: Int) -> SIMD3<Float> {
        let p = (min(y, height - 1) * width + min(x, width - 1)) * 3
        let r = Float(rgb[p])
        let g = Float(rgb[p + 1])
        let b = Float(rgb[p + 2])
        return SIMD3(
            16 + 0.257 * r + 0.504 * g + 0.098 * b, 128 - 0.148 * r - 0.291 * g + 0.439 * b,
            128 + 0.439 * r - 0.368 * g - 0.071 * b)
    }

    func byte(_ value: Float) -> UInt8 { UInt8(min(max(value.rounded(), 0), 255)) }

    /// The portrait as a camera frame (BT.601 limited range): NV12 with chroma averaged over 2x2 pixels, or YUYV
    /// with chroma averaged over each pair.
    func frame(_ format: PixelFormat) -> Frame {
        let rowBytes = format == .yuyv ? 2 * width : width
        let buffer = FrameBuffer(capacity: rowBytes * height + (format == .nv12 ? width * ((height + 1) / 2) : 0))
        let bytes = buffer.bytes
        for y in 0..<height {
            for x in stride(from: 0, to: width, by: 2) {
                if format == .yuyv {
                    let mean = (yuv(x, y) + yuv(x + 1, y)) / 2
                    let at = y * rowBytes + 2 * x
                    bytes[at] = byte(yuv(x, y).x)
                    bytes[at + 1] = byte(mean.y)
                    bytes[at + 2] = byte(yuv(x + 1, y).x)
                    bytes[at + 3] = byte(mean.z)
                } else {
                    bytes[y * width + x] = byte(yuv(x, y).x)
                    if x + 1 < width { bytes[y * width + x + 1] = byte(yuv(x + 1, y).x) }
                    if y % 2 == 0 {
                        let mean = (yuv(x, y) + yuv(x + 1, y) + yuv(x, y + 1) + yuv(x + 1, y + 1)) / 4
                        bytes[width * height + (y / 2) * width + x] = byte(mean.y)
                        bytes[width * height + (y / 2) * width + x + 1] = byte(mean.z)
                    }
                }
            }
        }
        return Frame(
            format: format, width: width, height: height, bytesPerRow: rowBytes, captureTime: Date(), index: 0,
            buffer: buffer)
    }
}

@Suite("Face landmarks on real portraits against MediaPipe's own pipeline", .needs(Portrait.files))
struct FaceLandmarkerTests {
    @Test(
        "lip landmarks on an RGB portrait are within 1% of the inter-ocular distance of MediaPipe's",
        arguments: Portrait.names)
    func lipLandmarksMatchMediaPipe(name: String) throws {
        let (portrait, landmarker) = try Portrait.withLandmarker(name)
        let found = try #require(
            portrait.rgb.withUnsafeBytes {
                landmarker.landmarks(
                    rgb: $0, width: portrait.width, height: portrait.height, bytesPerRow: portrait.width * 3)
            }, "no face found in \(name)")
        #expect(found.points.count == 468)
        #expect(found.score > 0.5)
        let error = portrait.lipError(found)
        print("FaceMeshTests: \(name) RGB: mean lip error \(error * 100)% of inter-ocular distance")
        #expect(error <= 0.01, "\(name): mean lip error \(error * 100)% of the inter-ocular distance")
    }

    @Test(
        "an NV12 or YUYV camera frame of the portrait gives lips within 2% of the inter-ocular distance",
        arguments: Portrait.names, [PixelFormat.nv12, .yuyv])
    func cameraFrameFindsTheLips(name: String, format: PixelFormat) throws {
        let (portrait, landmarker) = try Portrait.withLandmarker(name)
        let found = try #require(landmarker.landmarks(for: portrait.frame(format)), "no face found in \(name)")
        let error = portrait.lipError(found)
        print("FaceMeshTests: \(name) \(format): mean lip error \(error * 100)% of inter-ocular distance")
        #expect(error <= 0.02, "\(name) \(format): mean lip error \(error * 100)%")
    }

    @Test(
        "after the first frame the landmarker tracks without the detector and stays on the lips",
        arguments: Portrait.names)
    func trackingStaysOnTheFace(name: String) throws {
        let (portrait, landmarker) = try Portrait.withLandmarker(name)
        var result = FaceLandmarks()
        #expect(!landmarker.isTracking)
        try portrait.rgb.withUnsafeBytes { rgb in
            for frame in 0..<5 {
                let found = try landmarker.update(
                    &result, rgb: rgb, width: portrait.width, height: portrait.height, bytesPerRow: portrait.width * 3)
                #expect(found, "frame \(frame)")
                #expect(landmarker.isTracking, "frame \(frame)")
            }
        }
        let error = portrait.lipError(result)
        print("FaceMeshTests: \(name) tracking: mean lip error \(error * 100)% of inter-ocular distance")
        #expect(error <= 0.02, "\(name): after 5 tracked frames, mean lip error \(error * 100)%")
    }

    @Test("the detector finds the face with its eyes and mouth inside the box", arguments: Portrait.names)
    func detectorFindsTheFace(name: String) throws {
        let (portrait, landmarker) = try Portrait.withLandmarker(name)
        let face = try #require(
            try portrait.rgb.withUnsafeBytes {
                try landmarker.detect(
                    rgb: $0, width: portrait.width, height: portrait.height, bytesPerRow: portrait.width * 3)
            })
        #expect(face.score > 0.5)
        for index in [33, 263, 13] {
            let p = portrait.fixture.landmarks[index]
            #expect(p[0] > face.minX && p[0] < face.minX + face.width, "landmark \(index) x")
            #expect(p[1] > face.minY && p[1] < face.minY + face.height, "landmark \(index) y")
        }
    }

    @Test("a plain grey picture has no face")
    func noFaceInAPlainImage() throws {
        let landmarker = try FaceLandmarker(modelsDirectory: ReferenceFiles.models)
        let pixels = [UInt8](repeating: 128, count: 320 * 240 * 3)
        let found = pixels.withUnsafeBytes { landmarker.landmarks(rgb: $0, width: 320, height: 240, bytesPerRow: 960) }
        #expect(found == nil)
        #expect(!landmarker.isTracking)
    }
}

@Suite("Face models: clear errors for missing and damaged files")
struct FaceModelErrorTests {
    @Test("without the model files, init throws modelMissing naming the file and the fetch script")
    func missingModelsAreNamed() throws {
        let empty = try TemporaryFolder("facemesh")
        #expect {
            _ = try FaceLandmarker(modelsDirectory: empty.url)
        } throws: { error in
            guard let error = error as? FaceMeshError else { return false }
            return error.code == .modelMissing && error.message.contains(FaceLandmarker.detectorModelName)
                && error.message.contains("scripts/fetch-assets")
        }
    }

    @Test("a file that is not a TFLite model is refused as malformed")
    func garbageIsMalformed() throws {
        let folder = try TemporaryFolder("facemesh")
        let directory = folder.url
        for name in [FaceLandmarker.detectorModelName, FaceLandmarker.landmarkModelName] {
            try Data("not a model at all".utf8).write(to: directory.appendingPathComponent(name))
        }
        #expect {
            _ = try FaceLandmarker(modelsDirectory: directory)
        } throws: { error in
            (error as? FaceMeshError)?.code == .malformedModel
                && (error as? FaceMeshError)?.message.contains(FaceLandmarker.detectorModelName) == true
        }
    }

    @Test("a truncated model is refused as malformed, without a crash", .needs([ReferenceFiles.detectorModel]))
    func truncatedModelIsMalformed() throws {
        let source = ReferenceFiles.detectorModel
        let folder = try TemporaryFolder("facemesh")
        let directory = folder.url
        let whole = try Data(contentsOf: source)
        for name in [FaceLandmarker.detectorModelName, FaceLandmarker.landmarkModelName] {
            try whole.prefix(whole.count / 2).write(to: directory.appendingPathComponent(name))
        }
        #expect {
            _ = try FaceLandmarker(modelsDirectory: directory)
        } throws: { error in
            (error as? FaceMeshError)?.code == .malformedModel
        }
    }

    @Test("a grey frame is refused with an error that says colour is needed", .needs([ReferenceFiles.landmarkModel]))
    func greyFramesAreRefused() throws {
        let landmarker = try FaceLandmarker(modelsDirectory: ReferenceFiles.models)
        let frame = Frame(
            format: .grey, width: 64, height: 48, bytesPerRow: 64, captureTime: Date(), index: 7,
            buffer: FrameBuffer(capacity: 64 * 48))
        var result = FaceLandmarks()
        #expect {
            _ = try landmarker.update(&result, for: frame)
        } throws: { error in
            (error as? FaceMeshError)?.code == .unsupportedInput
        }
    }
}
