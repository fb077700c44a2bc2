import Foundation

/// A face found by the detector, in image pixels.
package struct FaceDetection: Sendable, Equatable {
    /// Axis-aligned box: origin top left.
    package var minX: Float
    package var minY: Float
    package var width: Float
    package var height: Float
    /// The subject's right eye (keypoint 0).
    package var rightEye: SIMD2<Float>
    /// The subject's left eye (keypoint 1).
    package var leftEye: SIMD2<Float>
    package var noseTip: SIMD2<Float>
    package var mouthCentre: SIMD2<Float>
    package var rightEarTragion: SIMD2<Float>
    package var leftEarTragion: SIMD2<Float>
    /// 0...1.
    package var score: Float

    /// The six keypoints in the model's order: right eye, left eye, nose tip, mouth centre, right ear tragion, left
    /// ear tragion (the subject's right and left). Stored one by one so that a detection allocates nothing.
    package var keypoints: [SIMD2<Float>] {
        [rightEye, leftEye, noseTip, mouthCentre, rightEarTragion, leftEarTragion]
    }
}

/// MediaPipe's short-range face detector (BlazeFace, 128 x 128 input) with its pre- and post-processing.
///
/// Facts from MediaPipe's face_detection_short_range graph: the whole frame is letterboxed into a square with
/// black borders and scaled to 128 x 128, values -1...1; 896 SSD anchors from strides 8, 16, 16, 16 (2 anchors
/// per cell on 16 x 16, 6 per cell on 8 x 8, centres at cell middles, unit size); regressors are offsets in
/// input pixels (scale 128) ordered x, y, w, h, then six keypoints x, y; scores are clipped to ±100 and put
/// through a sigmoid, kept from 0.5; weighted non-maximum suppression merges boxes with IoU above 0.3.
final class FaceDetector {
    static let inputSize = 128
    static let minimumScore: Float = 0.5
    static let suppressionOverlap: Float = 0.3

    private struct Candidate {
        var box: SIMD4<Float>  // xmin, ymin, xmax, ymax in the letterboxed square, 0...1
        var keypoints: (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>)  // six (x, y) pairs
        var score: Float
    }

    private let interpreter: Interpreter
    private let anchors: [SIMD2<Float>]
    private let boxes: UnsafeMutableBufferPointer<Float>
    private let scores: UnsafeMutableBufferPointer<Float>
    private var candidates: [Candidate] = []

    init(model: TFLiteModel) throws(FaceMeshError) {
        interpreter = try Interpreter(model: model)
        anchors = FaceDetector.makeAnchors()
        let input = model.tensors[model.inputs[0]].shape
        guard input == [1, FaceDetector.inputSize, FaceDetector.inputSize, 3], model.outputs.count == 2 else {
            throw FaceMeshError(.unsupportedModel, "\(model.name): expected a 1x128x128x3 input and two outputs")
        }
        // Regressors are 896 x 16, classificators 896 x 1, in either order.
        let first = model.tensors[model.outputs[0]].count
        let second = model.tensors[model.outputs[1]].count
        if first == anchors.count * 16 && second == anchors.count {
            boxes = interpreter.output(0)
            scores = interpreter.output(1)
        } else if second == anchors.count * 16 && first == anchors.count {
            boxes = interpreter.output(1)
            scores = interpreter.output(0)
        } else {
            throw FaceMeshError(.unsupportedModel, "\(model.name): outputs are not 896x16 boxes and 896 scores")
        }
        candidates.reserveCapacity(anchors.count)
    }

    static func makeAnchors() -> [SIMD2<Float>] {
        var anchors: [SIMD2<Float>] = []
        for (cells, perCell) in [(16, 2), (8, 6)] {
            for y in 0..<cells {
                for x in 0..<cells {
                    let centre = SIMD2<Float>((Float(x) + 0.5) / Float(cells), (Float(y) + 0.5) / Float(cells))
                    for _ in 0..<perCell { anchors.append(centre) }
                }
            }
        }
        return anchors
    }

    /// The most confident face in the image, or nil when none scores 0.5 or more.
    func detect(_ image: ImageSampler) -> FaceDetection? {
        let side = Float(max(image.width, image.height))
        let square = RotatedRect(
            centerX: Float(image.width) / 2, centerY: Float(image.height) / 2, width: side,
            height: side, rotation: 0)
        image.crop(
            square, into: interpreter.input.baseAddress!, size: FaceDetector.inputSize, range: -1...1, border: .zero)
        interpreter.run()
        guard let best = decodeAndSuppress() else { return nil }
        // From the letterboxed square (0...1) back to image pixels.
        func point(_ x: Float, _ y: Float) -> SIMD2<Float> {
            SIMD2(square.centerX + (x - 0.5) * side, square.centerY + (y - 0.5) * side)
        }
        let low = point(best.box[0], best.box[1])
        let high = point(best.box[2], best.box[3])
        let k = best.keypoints
        return FaceDetection(
            minX: low.x, minY: low.y, width: high.x - low.x, height: high.y - low.y,
            rightEye: point(k.0[0], k.0[1]), leftEye: point(k.0[2], k.0[3]), noseTip: point(k.1[0], k.1[1]),
            mouthCentre: point(k.1[2], k.1[3]), rightEarTragion: point(k.2[0], k.2[1]),
            leftEarTragion: point(k.2[2], k.2[3]), score: best.score)
    }

    private func decodeAndSuppress() -> Candidate? {
        candidates.removeAll(keepingCapacity: true)
        let scale = Float(FaceDetector.inputSize)
        for (index, anchor) in anchors.enumerated() {
            let logit = min(max(scores[index], -100), 100)
            let score = 1 / (1 + exp(-logit))
            guard score >= FaceDetector.minimumScore else { continue }
            let raw = boxes.baseAddress! + index * 16
            let centre = SIMD2(raw[0], raw[1]) / scale + anchor
            let size = SIMD2(raw[2], raw[3]) / scale
            func keypoint(_ k: Int) -> SIMD2<Float> { SIMD2(raw[4 + 2 * k], raw[5 + 2 * k]) / scale + anchor }
            let pair = { (a: Int) -> SIMD4<Float> in
                let p = keypoint(a)
                let q = keypoint(a + 1)
                return SIMD4(p.x, p.y, q.x, q.y)
            }
            candidates.append(
                Candidate(
                    box: SIMD4(
                        centre.x - size.x / 2, centre.y - size.y / 2, centre.x + size.x / 2, centre.y + size.y / 2),
                    keypoints: (pair(0), pair(2), pair(4)), score: score))
        }
        // Weighted suppression: the top box absorbs every box overlapping it by more than the threshold, averaging
        // positions by score; it keeps its own score. Only the first (most confident) face is needed, so the top is
        // found without sorting (a sort would allocate).
        guard var top = candidates.first else { return nil }
        for candidate in candidates where candidate.score > top.score { top = candidate }
        var total: Float = 0
        var box = SIMD4<Float>.zero
        var keypoints = (SIMD4<Float>.zero, SIMD4<Float>.zero, SIMD4<Float>.zero)
        for candidate in candidates where FaceDetector.overlap(candidate.box, top.box) > FaceDetector.suppressionOverlap
        {
            total += candidate.score
            box += candidate.box * candidate.score
            keypoints.0 += candidate.keypoints.0 * candidate.score
            keypoints.1 += candidate.keypoints.1 * candidate.score
            keypoints.2 += candidate.keypoints.2 * candidate.score
        }
        guard total > 0 else { return top }
        return Candidate(
            box: box / total, keypoints: (keypoints.0 / total, keypoints.1 / total, keypoints.2 / total),
            score: top.score)
    }

    /// Intersection over union of two (xmin, ymin, xmax, ymax) boxes.
    static func overlap(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> Float {
        let width = min(a[2], b[2]) - max(a[0], b[0])
        let height = min(a[3], b[3]) - max(a[1], b[1])
        guard width > 0, height > 0 else { return 0 }
        let intersection = width * height
        let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - intersection
        return union > 0 ? intersection / union : 0
    }
}
