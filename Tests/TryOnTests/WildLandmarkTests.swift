import Capture
import Foundation
import HubCore
import Testing

@testable import TryOn

/// Landmarks come from clients (a device token's tracker): no coordinate, however large, may trap the renderer.
@Suite struct WildLandmarkTests {
    @Test(arguments: [
        #"{"width": 320, "height": 240, "outer": [[1e30, 2], [3, 4], [5, 6]]}"#,
        #"{"width": 320, "height": 240, "outer": [[1, -1e30], [3, 4], [5, 6]]}"#,
        #"{"width": 320, "height": 240, "outer": [[1e300, 2], [3, 4], [5, 6]]}"#,
        #"{"width": 320, "height": 240, "outer": [[1000, 2], [3, 4], [5, 6]]}"#,
        #"{"normalized": true, "outer": [[0.5, 0.5], [3.5, 0.5], [0.5, 0.6]]}"#,
    ])
    func landmarksFurtherThanOneImageOutsideAreRefused(text: String) throws {
        let data = try JSONParser.parse(text)
        let error = #expect(throws: BusLandmarksError.self) {
            try BusLandmarks.parse(data, frameWidth: 320, frameHeight: 240)
        }
        #expect(error?.description.contains("outside") == true, "\(String(describing: error))")
        #expect(BusLandmarks.problem(with: data) != nil)
    }

    @Test(arguments: [#"{"width": 1e30, "height": 240}"#, #"{"width": 320, "height": 0.5}"#])
    func imageSizesOutOfRangeAreRefused(text: String) throws {
        var data = try JSONParser.parse(text)
        if case .object(var fields) = data {
            fields["outer"] = try JSONParser.parse("[[1, 2], [3, 4], [5, 6]]")
            data = .object(fields)
        }
        #expect(throws: BusLandmarksError.self) { try BusLandmarks.parse(data, frameWidth: 320, frameHeight: 240) }
    }

    @Test func pointsAtTheEdgeOfTheRangeAreKept() throws {
        let data = try JSONParser.parse(#"{"width": 320, "height": 240, "outer": [[-320, -240], [640, 0], [0, 480]]}"#)
        let observation = try BusLandmarks.parse(data, frameWidth: 320, frameHeight: 240)
        #expect(observation.outer.count == 3)
        #expect(BusLandmarks.problem(with: data) == nil)
    }

    @Test func theMaskRasterizerClampsPointsFarOutsideTheFrameInsteadOfTrapping() {
        let mask = LipMask(width: 64, height: 48)
        let wild: [SIMD2<Float>] = [SIMD2(1e30, 1e30), SIMD2(-1e30, 10), SIMD2(10, -1e30), SIMD2(.nan, 3)]
        mask.rasterize(outer: wild, inner: [], feather: 2)
        let ordinary: [SIMD2<Float>] = [SIMD2(-1e30, -1e30), SIMD2(1e30, -1e30), SIMD2(1e30, 1e30), SIMD2(-1e30, 1e30)]
        mask.rasterize(outer: ordinary, inner: [], feather: 2)
        #expect(mask.bounds.x1 <= 64 && mask.bounds.y1 <= 48)
    }

    @Test func theRendererSurvivesAnObservationFarOutsideTheFrame() {
        let frame = ColorImage.copy(Synthetic.face())
        let renderer = TryOnRenderer(width: frame.width, height: frame.height)
        renderer.minimumConfidence = 0
        renderer.fullConfidence = 0.01
        let observation = LipObservation(
            outer: [SIMD2(1e30, 1e30), SIMD2(-1e30, 5), SIMD2(5, 1e30)], inner: [], confidence: 1, locator: .bus)
        renderer.render(
            frame, observation: observation, shade: Synthetic.shade(color: "#C01040", opacity: 1), time: nil)
    }
}
