import FaceMesh
import Foundation
import HubCore
import TryOn

/// The native face pipeline (MediaPipe's detector and face mesh run by the FaceMesh module) as the mesh lip
/// locator's landmark source. The landmarker tracks the face from frame to frame and detects again only when it
/// is lost; its result storage is reused for every frame.
///
/// One per mirror pipeline, used from its task only.
final class NativeLandmarkProvider: FaceLandmarkProvider {
    private let landmarker: FaceLandmarker
    private var result = FaceMesh.FaceLandmarks()

    /// Loads the detector and face-mesh models; the error names a missing or damaged file and how to fetch it.
    init(modelsDirectory: URL) throws {
        landmarker = try FaceLandmarker(modelsDirectory: modelsDirectory)
    }

    func landmarks(for frame: Frame) -> TryOn.FaceLandmarks? {
        guard (try? landmarker.update(&result, for: frame)) == true else { return nil }
        return TryOn.FaceLandmarks(points: result.points, score: result.score)
    }
}
