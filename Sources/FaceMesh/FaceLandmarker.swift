import Foundation
import HubCore

/// The 468 face-mesh landmarks of one face, in the pixels of the frame they were found in.
package struct FaceLandmarks: Sendable, Equatable {
    /// x right and y down in frame pixels (pixel centres at integers); z is MediaPipe's relative depth in the
    /// same pixel scale, smaller towards the camera.
    package var points: [SIMD3<Float>]
    /// The mesh model's face-presence score, 0...1.
    package var score: Float
    /// The rotated square the landmarks were read from.
    package var region: RotatedRect

    package init(
        points: [SIMD3<Float>] = [], score: Float = 0,
        region: RotatedRect = .init(centerX: 0, centerY: 0, width: 0, height: 0, rotation: 0)
    ) {
        self.points = points
        self.score = score
        self.region = region
    }
}

/// Finds a face and its 468 mesh landmarks in camera frames, with MediaPipe's face detector and face mesh models
/// run natively on the CPU.
///
/// As in MediaPipe's face-mesh pipeline: the detector finds the face, a square 1.5 times the face's longer side,
/// turned so the eyes are level, is cropped to 192 x 192 for the mesh model; on the next frame the crop comes from
/// the previous landmarks (bounding box, eye corners 33 and 263 for the angle) and the detector runs again only
/// when the mesh's face score drops below 0.5. Buffers are made once at load: a frame allocates nothing when
/// results go into a reused `FaceLandmarks` (`update(_:for:)`). One landmarker per camera; not for concurrent use.
package final class FaceLandmarker {
    package static let landmarkCount = 468
    package static let detectorModelName = "face_detection_short_range.tflite"
    package static let landmarkModelName = "face_landmark.tflite"
    static let rightEyeOuterCorner = 33
    static let leftEyeOuterCorner = 263
    static let inputSize = 192
    static let regionScale: Float = 1.5
    static let minimumPresence: Float = 0.5

    /// Outer lip contour, a closed loop: left mouth corner (61), along the upper lip to the right corner (291),
    /// back along the lower lip.
    package static let outerLipContour: [Int] = [
        61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146,
    ]
    /// Inner lip contour (the mouth opening), a closed loop from the left inner corner (78).
    package static let innerLipContour: [Int] = [
        78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95,
    ]

    private let detector: FaceDetector
    private let mesh: Interpreter
    private let meshPoints: UnsafeMutableBufferPointer<Float>
    private let meshScore: UnsafeMutableBufferPointer<Float>
    private var tracked: RotatedRect?

    /// Loads both models from `modelsDirectory` (scripts/fetch-assets puts them in .cache/models).
    ///
    /// Throws `FaceMeshError` with code `.modelMissing` when a file is absent, naming it and the fix.
    package init(modelsDirectory: URL) throws(FaceMeshError) {
        var models: [TFLiteModel] = []
        for name in [FaceLandmarker.detectorModelName, FaceLandmarker.landmarkModelName] {
            let url = modelsDirectory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw FaceMeshError(
                    .modelMissing,
                    "face model \(name) is not in \(modelsDirectory.path); run scripts/fetch-assets "
                        + "(scripts/install-deps does) to fetch MediaPipe's face models")
            }
            models.append(try TFLiteModel(contentsOf: url))
        }
        detector = try FaceDetector(model: models[0])
        mesh = try Interpreter(model: models[1])
        let model = models[1]
        guard model.tensors[model.inputs[0]].shape == [1, FaceLandmarker.inputSize, FaceLandmarker.inputSize, 3],
            model.outputs.count == 2
        else { throw FaceMeshError(.unsupportedModel, "\(model.name): expected a 1x192x192x3 input and two outputs") }
        let counts = model.outputs.map { model.tensors[$0].count }
        guard let pointsOutput = counts.firstIndex(of: 3 * FaceLandmarker.landmarkCount),
            let scoreOutput = counts.firstIndex(of: 1)
        else { throw FaceMeshError(.unsupportedModel, "\(model.name): outputs are not 1404 coordinates and a score") }
        meshPoints = mesh.output(pointsOutput)
        meshScore = mesh.output(scoreOutput)
    }

    /// Whether the next frame starts from the previous landmarks instead of the detector.
    package var isTracking: Bool { tracked != nil }

    /// Forgets the tracked face: the next frame runs the detector.
    package func reset() { tracked = nil }

    /// The face's landmarks in an NV12 or YUYV frame, or nil when there is no face (or the frame is grey or
    /// damaged; `update` says which). Allocates the result; a live loop uses `update(_:for:)`.
    package func landmarks(for frame: Frame) -> FaceLandmarks? {
        var result = FaceLandmarks()
        return (try? update(&result, for: frame)) == true ? result : nil
    }

    /// The face's landmarks in a packed 8-bit RGB image. Allocates the result.
    package func landmarks(rgb: UnsafeRawBufferPointer, width: Int, height: Int, bytesPerRow: Int) -> FaceLandmarks? {
        var result = FaceLandmarks()
        guard let image = try? ImageSampler(rgb: rgb, width: width, height: height, bytesPerRow: bytesPerRow) else {
            return nil
        }
        return run(image, into: &result) ? result : nil
    }

    /// Writes the face's landmarks into `result`, reusing its storage; false when there is no face.
    ///
    /// Throws `.unsupportedInput` for grey frames and buffers smaller than the frame claims.
    package func update(_ result: inout FaceLandmarks, for frame: Frame) throws(FaceMeshError) -> Bool {
        run(try ImageSampler(frame: frame), into: &result)
    }

    /// Writes the face's landmarks in a packed RGB image into `result`; false when there is no face.
    package func update(
        _ result: inout FaceLandmarks, rgb: UnsafeRawBufferPointer, width: Int, height: Int, bytesPerRow: Int
    ) throws(FaceMeshError) -> Bool {
        run(try ImageSampler(rgb: rgb, width: width, height: height, bytesPerRow: bytesPerRow), into: &result)
    }

    /// The detector alone on a frame: the most confident face, or nil.
    package func detect(in frame: Frame) throws(FaceMeshError) -> FaceDetection? {
        detector.detect(try ImageSampler(frame: frame))
    }

    /// The detector alone on a packed RGB image.
    package func detect(rgb: UnsafeRawBufferPointer, width: Int, height: Int, bytesPerRow: Int) throws(FaceMeshError)
        -> FaceDetection?
    {
        detector.detect(try ImageSampler(rgb: rgb, width: width, height: height, bytesPerRow: bytesPerRow))
    }

    private func run(_ image: ImageSampler, into result: inout FaceLandmarks) -> Bool {
        if let region = tracked, landmarks(image, region, into: &result) {
            tracked = FaceLandmarker.region(fromLandmarks: result.points)
            return true
        }
        tracked = nil
        guard let face = detector.detect(image) else { return false }
        guard landmarks(image, FaceLandmarker.region(from: face), into: &result) else { return false }
        tracked = FaceLandmarker.region(fromLandmarks: result.points)
        return true
    }

    /// Runs the mesh model on one crop; false when its face score is below the presence threshold.
    private func landmarks(_ image: ImageSampler, _ region: RotatedRect, into result: inout FaceLandmarks) -> Bool {
        let size = FaceLandmarker.inputSize
        image.crop(region, into: mesh.input.baseAddress!, size: size, range: 0...1, border: .replicate)
        mesh.run()
        let score = 1 / (1 + exp(-meshScore[0]))
        guard score >= FaceLandmarker.minimumPresence else { return false }
        if result.points.count != FaceLandmarker.landmarkCount {
            result.points = Array(repeating: .zero, count: FaceLandmarker.landmarkCount)
        }
        let n = Float(size)
        let cosine = cos(region.rotation)
        let sine = sin(region.rotation)
        result.points.withUnsafeMutableBufferPointer { points in
            for i in 0..<FaceLandmarker.landmarkCount {
                let dx = (meshPoints[3 * i] / n - 0.5) * region.width
                let dy = (meshPoints[3 * i + 1] / n - 0.5) * region.height
                points[i] = SIMD3(
                    region.centerX + cosine * dx - sine * dy, region.centerY + sine * dx + cosine * dy,
                    meshPoints[3 * i + 2] / n * region.width)
            }
        }
        result.score = score
        result.region = region
        return true
    }

    /// MediaPipe's detection-to-crop rule: box centre, the longer side times 1.5, eyes (keypoints 0, 1) level.
    static func region(from face: FaceDetection) -> RotatedRect {
        let side = max(face.width, face.height) * regionScale
        return RotatedRect(
            centerX: face.minX + face.width / 2, centerY: face.minY + face.height / 2, width: side, height: side,
            rotation: angle(from: face.rightEye, to: face.leftEye))
    }

    /// The tracking crop: the landmarks' bounding box, longer side times 1.5, eye corners 33 and 263 level.
    static func region(fromLandmarks points: [SIMD3<Float>]) -> RotatedRect {
        var low = SIMD2<Float>(repeating: .infinity)
        var high = SIMD2<Float>(repeating: -.infinity)
        for point in points {
            let p = SIMD2(point.x, point.y)
            low = pointwiseMin(low, p)
            high = pointwiseMax(high, p)
        }
        let size = high - low
        let side = max(size.x, size.y) * regionScale
        let a = points[rightEyeOuterCorner]
        let b = points[leftEyeOuterCorner]
        return RotatedRect(
            centerX: (low.x + high.x) / 2, centerY: (low.y + high.y) / 2, width: side, height: side,
            rotation: angle(from: SIMD2(a.x, a.y), to: SIMD2(b.x, b.y)))
    }

    /// The rotation that makes the line from `a` to `b` horizontal, in -pi...pi.
    static func angle(from a: SIMD2<Float>, to b: SIMD2<Float>) -> Float {
        let raw = -atan2(-(b.y - a.y), b.x - a.x)
        return raw - 2 * .pi * ((raw + .pi) / (2 * .pi)).rounded(.down)
    }
}
