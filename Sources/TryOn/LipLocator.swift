import HubCore

/// Which locator found the lips; try-on results and the status page report it.
package enum LocatorKind: String, Sendable, Codable, CaseIterable {
    /// A 468-point face mesh computed on the frame by the native face pipeline (MediaPipe's models in FaceMesh).
    case native
    /// A 468-point face mesh given for the frame (a still's landmarks, the demo portrait's known motion).
    case mesh
    /// Landmarks sent over the bus by an external tracker (`mirror.landmarks.<device>`).
    case bus
    /// Face guide region and lip colour model: always low confidence.
    case classical
}

/// Where the lips are in one frame.
package struct LipObservation: Sendable, Equatable {
    /// Closed outer lip contour, frame pixels (x right, y down), in order around the mouth.
    package var outer: [SIMD2<Float>]
    /// Closed inner lip contour (the mouth opening), frame pixels; empty when unknown. The lips are `outer`
    /// minus `inner`.
    package var inner: [SIMD2<Float>]
    /// 0 (a guess) ... 1 (certain). The renderer fades the overlay out below its threshold.
    package var confidence: Float
    package var locator: LocatorKind

    package init(outer: [SIMD2<Float>], inner: [SIMD2<Float>], confidence: Float, locator: LocatorKind) {
        self.outer = outer
        self.inner = inner
        self.confidence = min(max(confidence, 0), 1)
        self.locator = locator
    }
}

/// Finds the lips in a frame.
///
/// One mirror pipeline owns its locators and calls them from one task, so implementations may keep scratch
/// buffers without locking. `locate` must not keep the frame: its pixels belong to the source.
package protocol LipLocator: AnyObject {
    var kind: LocatorKind { get }
    /// The lips in `frame`, or nil when this locator sees none.
    func locate(in frame: Frame) -> LipObservation?
}

/// Asks locators in order of preference and takes the first observation confident enough for its locator.
package final class LocatorChain: LipLocator {
    package let locators: [any LipLocator]
    /// Observations below this confidence are passed over for the next locator (but kept as a last resort).
    package var minimumConfidence: Float

    package init(_ locators: [any LipLocator], minimumConfidence: Float = 0.5) {
        self.locators = locators
        self.minimumConfidence = minimumConfidence
    }

    package var kind: LocatorKind { locators.first?.kind ?? .classical }

    package func locate(in frame: Frame) -> LipObservation? {
        var fallback: LipObservation?
        for locator in locators {
            guard let observation = locator.locate(in: frame) else { continue }
            if observation.confidence >= minimumConfidence { return observation }
            if fallback == nil || observation.confidence > fallback!.confidence { fallback = observation }
        }
        return fallback
    }
}

/// The lip contours inside MediaPipe's 468-point face mesh (its canonical vertex numbering).
package enum FaceMeshLips {
    /// Outer lip contour, starting at the right mouth corner (61), over the upper lip to the left corner (291)
    /// and back along the lower lip.
    package static let outer: [Int] = [
        61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146,
    ]
    /// Inner lip contour (the mouth opening), same direction, from corner 78 to corner 308 and back.
    package static let inner: [Int] = [
        78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95,
    ]
    package static let pointCount = 468

    /// The lip contours of a mesh in pixel coordinates; nil unless it has 468 points.
    package static func contours(_ mesh: [SIMD3<Float>]) -> (outer: [SIMD2<Float>], inner: [SIMD2<Float>])? {
        guard mesh.count == pointCount else { return nil }
        return (outer.map { SIMD2(mesh[$0].x, mesh[$0].y) }, inner.map { SIMD2(mesh[$0].x, mesh[$0].y) })
    }
}

/// 468 face-mesh landmarks of one face and how sure the model is that it is a face.
package struct FaceLandmarks: Sendable, Equatable {
    /// x, y in frame pixels; z in the model's relative depth units.
    package var points: [SIMD3<Float>]
    /// 0...1.
    package var score: Float

    package init(points: [SIMD3<Float>], score: Float) {
        self.points = points
        self.score = score
    }
}

/// Where the mesh locator gets its landmarks: a face-landmark model run on the frame.
///
/// Called from the mirror pipeline's task only, once per frame, with the frame it will render.
package protocol FaceLandmarkProvider: AnyObject {
    /// The face's 468 landmarks in `frame`'s pixels, or nil when no face is found.
    func landmarks(for frame: Frame) -> FaceLandmarks?
}

/// Lips from a 468-point face mesh: the lip vertices of the mesh, confidence from the model's face score.
package final class MeshLipLocator: LipLocator {
    package let provider: any FaceLandmarkProvider

    package let kind: LocatorKind

    /// `kind` names where the mesh comes from in observations: `.native` for the native face pipeline.
    package init(provider: any FaceLandmarkProvider, kind: LocatorKind = .mesh) {
        self.provider = provider
        self.kind = kind
    }

    package func locate(in frame: Frame) -> LipObservation? {
        guard let face = provider.landmarks(for: frame), let lips = FaceMeshLips.contours(face.points) else {
            return nil
        }
        return LipObservation(outer: lips.outer, inner: lips.inner, confidence: face.score, locator: kind)
    }
}

/// A provider that always answers with the same landmarks, moved by an optional per-frame transform: for the
/// command line (landmarks computed elsewhere for a still) and for the demo, whose head motion is synthetic and
/// therefore known.
package final class FixedLandmarkProvider: FaceLandmarkProvider {
    package let face: FaceLandmarks
    /// Maps the stored points into the given frame (identity when nil).
    package var transform: (@Sendable (Frame) -> (SIMD2<Float>) -> SIMD2<Float>)?
    private var moved: [SIMD3<Float>]

    package init(face: FaceLandmarks, transform: (@Sendable (Frame) -> (SIMD2<Float>) -> SIMD2<Float>)? = nil) {
        self.face = face
        self.transform = transform
        moved = face.points
    }

    package func landmarks(for frame: Frame) -> FaceLandmarks? {
        guard let transform else { return face }
        let map = transform(frame)
        for index in face.points.indices {
            let point = map(SIMD2(face.points[index].x, face.points[index].y))
            moved[index] = SIMD3(point.x, point.y, face.points[index].z)
        }
        return FaceLandmarks(points: moved, score: face.score)
    }
}

extension FaceLandmarks {
    /// A 468-point mesh from a JSON file's value: `{"landmarks": [[x, y, z], ...]}` in the image's pixels (the
    /// reference fixtures' format). Errors say what is wrong; `score` is the confidence to report.
    package static func mesh(from value: JSONValue, score: Float = 0.95) throws(BusLandmarksError) -> FaceLandmarks {
        guard case .array(let rows)? = value["landmarks"], rows.count == FaceMeshLips.pointCount else {
            throw BusLandmarksError(
                #"expected {"landmarks": [[x, y, z], ...]} with \#(FaceMeshLips.pointCount) points"#)
        }
        var points: [SIMD3<Float>] = []
        points.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() {
            guard case .array(let xyz) = row, xyz.count == 3 else {
                throw BusLandmarksError("landmarks[\(index)] must be [x, y, z]")
            }
            var numbers: [Float] = []
            for value in xyz {
                switch value {
                case .int(let number): numbers.append(Float(number))
                case .double(let number): numbers.append(Float(number))
                default: throw BusLandmarksError("landmarks[\(index)] must be three numbers")
                }
            }
            points.append(SIMD3(numbers[0], numbers[1], numbers[2]))
        }
        return FaceLandmarks(points: points, score: score)
    }
}
