import FaceMesh
import Foundation
import HubCore
import TryOn

/// The native face pipeline (MediaPipe's detector and face mesh run by the FaceMesh module) as the mesh lip
/// locator's landmark source. The landmarker tracks the face from frame to frame and detects again only when it
/// is lost; its result storage is reused for every frame.
///
/// One per mirror pipeline (or `storehub tryon` run), used from its task only.
package final class NativeLandmarkProvider: FaceLandmarkProvider {
    private let landmarker: FaceLandmarker
    private var result = FaceMesh.FaceLandmarks()

    /// Loads the detector and face-mesh models; the error names a missing or damaged file and how to fetch it.
    package init(modelsDirectory: URL) throws {
        landmarker = try FaceLandmarker(modelsDirectory: modelsDirectory)
    }

    package func landmarks(for frame: Frame) -> TryOn.FaceLandmarks? {
        guard (try? landmarker.update(&result, for: frame)) == true else { return nil }
        return TryOn.FaceLandmarks(points: result.points, score: result.score)
    }
}

extension MeshLipLocator {
    /// The mesh locator on the native face pipeline, its observations named `.native`; throws as
    /// `NativeLandmarkProvider.init` does.
    package static func native(modelsDirectory: URL) throws -> MeshLipLocator {
        MeshLipLocator(provider: try NativeLandmarkProvider(modelsDirectory: modelsDirectory), kind: .native)
    }
}
