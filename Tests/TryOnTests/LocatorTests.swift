import Capture
import Foundation
import HubCore
import StoreHubTestSupport
import Testing

@testable import TryOn

@Suite struct LocatorTests {
    /// A 468-point mesh with every point at the origin except the lip vertices, which trace the given contours.
    static func mesh(outer: [SIMD2<Float>], inner: [SIMD2<Float>]) -> [SIMD3<Float>] {
        var points = [SIMD3<Float>](repeating: SIMD3(0, 0, 0), count: 468)
        for (index, vertex) in FaceMeshLips.outer.enumerated() {
            points[vertex] = SIMD3(outer[index].x, outer[index].y, 0)
        }
        for (index, vertex) in FaceMeshLips.inner.enumerated() {
            points[vertex] = SIMD3(inner[index].x, inner[index].y, 0)
        }
        return points
    }

    @Test func test_meshLipIndices_areDistinctVerticesOfTheMesh() {
        let all = FaceMeshLips.outer + FaceMeshLips.inner
        #expect(Set(all).count == all.count)
        #expect(all.allSatisfy { (0..<468).contains($0) })
    }

    final class Provider: FaceLandmarkProvider {
        var face: FaceLandmarks?
        init(_ face: FaceLandmarks?) { self.face = face }
        func landmarks(for frame: Frame) -> FaceLandmarks? { face }
    }

    @Test func test_meshLocator_takesTheLipVerticesAndTheFaceScore() throws {
        let outer = Synthetic.ellipse(center: SIMD2(100, 80), radii: SIMD2(30, 12), count: 20)
        let inner = Synthetic.ellipse(center: SIMD2(100, 80), radii: SIMD2(20, 3), count: 20)
        let locator = MeshLipLocator(
            provider: Provider(FaceLandmarks(points: Self.mesh(outer: outer, inner: inner), score: 0.8)))
        let observation = try #require(locator.locate(in: Synthetic.face()))
        #expect(observation.outer == outer)
        #expect(observation.inner == inner)
        #expect(observation.confidence == 0.8)
        #expect(observation.locator == .mesh)
        #expect(MeshLipLocator(provider: Provider(nil)).locate(in: Synthetic.face()) == nil)
        #expect(
            MeshLipLocator(provider: Provider(FaceLandmarks(points: [SIMD3(0, 0, 0)], score: 1)))
                .locate(in: Synthetic.face()) == nil)
    }

    @Test func test_busLandmarks_asAMesh_areScaledToTheFrame() throws {
        let outer = Synthetic.ellipse(center: SIMD2(100, 80), radii: SIMD2(30, 12), count: 20)
        let inner = Synthetic.ellipse(center: SIMD2(100, 80), radii: SIMD2(20, 3), count: 20)
        let mesh = Self.mesh(outer: outer, inner: inner)
        let data = JSONValue.object([
            "width": .int(160), "height": .int(120), "confidence": .double(0.9),
            "mesh": .array(mesh.map { .array([.double(Double($0.x)), .double(Double($0.y)), .double(0)]) }),
        ])
        let observation = try BusLandmarks.parse(data, frameWidth: 320, frameHeight: 240)
        #expect(observation.outer[0] == outer[0] * 2)
        #expect(observation.inner[5] == inner[5] * 2)
        #expect(observation.confidence == 0.9)
        #expect(observation.locator == .bus)
    }

    @Test func test_busLandmarks_asNormalizedContours() throws {
        let data = try JSONParser.parse(
            #"{"normalized": true, "outer": [[0.4, 0.6], [0.6, 0.6], [0.5, 0.7]], "inner": []}"#)
        let observation = try BusLandmarks.parse(data, frameWidth: 200, frameHeight: 100)
        let expected: [SIMD2<Float>] = [SIMD2(80, 60), SIMD2(120, 60), SIMD2(100, 70)]
        #expect(zip(observation.outer, expected).allSatisfy { abs($0.x - $1.x) < 1e-3 && abs($0.y - $1.y) < 1e-3 })
        #expect(observation.inner.isEmpty)
        #expect(observation.confidence == 1)
    }

    @Test(arguments: [
        (#"{"outer": [[1, 2], [3, 4], [5, 6]]}"#, "width and height"),
        (#"{"width": 10, "height": 10, "outer": [[1, 2], [3, 4]]}"#, "at least 3"),
        (#"{"width": 10, "height": 10, "outer": [[1, 2], [3, "x"], [5, 6]]}"#, "outer[1]"),
        (#"{"width": 10, "height": 10, "mesh": [[1, 2, 3]]}"#, "468"),
        (#"{"width": 10, "height": 10, "confidence": 3, "outer": [[1, 2], [3, 4], [5, 6]]}"#, "confidence"),
        (#"[1, 2]"#, "object"),
    ])
    func test_badBusLandmarks_sayWhatIsWrong(text: String, expected: String) throws {
        let data = try JSONParser.parse(text)
        let error = #expect(throws: BusLandmarksError.self) {
            try BusLandmarks.parse(data, frameWidth: 100, frameHeight: 100)
        }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }

    @Test func test_busLocator_usesFreshLandmarksOnly_andReportsBadOnes() async throws {
        let inbox = LandmarkInbox()
        let locator = BusLipLocator(inbox: inbox, maxAge: .milliseconds(200))
        let frame = Synthetic.face()
        #expect(locator.locate(in: frame) == nil)
        inbox.receive(try JSONParser.parse(#"{"width": 320, "height": 240, "outer": [[1, 2], [30, 4], [5, 60]]}"#))
        #expect(locator.locate(in: frame)?.locator == .bus)
        try await Task.sleep(for: .milliseconds(300))
        #expect(locator.locate(in: frame) == nil)
        inbox.receive(try JSONParser.parse(#"{"width": 320}"#))
        #expect(locator.locate(in: frame) == nil)
        #expect(locator.lastProblem?.contains("width and height") == true)
    }

    @Test func test_classicalLocator_findsSyntheticLips_withLowConfidence() throws {
        let frame = Synthetic.face()
        let locator = ClassicalLipLocator(faceGuide: (64, 12, 192, 216))
        let observation = try #require(locator.locate(in: frame))
        #expect(observation.locator == .classical)
        #expect(observation.confidence <= 0.45)
        let (outer, inner) = Synthetic.lips(width: frame.width, height: frame.height)
        let found = LipMask(width: frame.width, height: frame.height)
        found.rasterize(outer: observation.outer, inner: observation.inner, feather: 0)
        let iou = Synthetic.iou(width: frame.width, height: frame.height) { x, y in
            found.pixels[y * frame.width + x] >= 128
        } _: { x, y in
            let point = SIMD2(Float(x) + 0.5, Float(y) + 0.5)
            return Synthetic.inside(point, outer) && !Synthetic.inside(point, inner)
        }
        #expect(iou > 0.6, "IoU \(iou)")
    }

    @Test func test_classicalLocator_seesNothingInAGreyFrame() {
        let frame = Frame(
            format: .grey, width: 64, height: 64, bytesPerRow: 64, captureTime: Date(), index: 0,
            buffer: FrameBuffer(capacity: 64 * 64))
        #expect(ClassicalLipLocator().locate(in: frame) == nil)
    }

    final class Fixed: LipLocator {
        let observation: LipObservation?
        let kind: LocatorKind
        init(_ observation: LipObservation?, _ kind: LocatorKind) {
            self.observation = observation
            self.kind = kind
        }
        func locate(in frame: Frame) -> LipObservation? { observation }
    }

    @Test func test_chain_prefersTheFirstConfidentLocator_andFallsBackToTheBestGuess() {
        let contour = Synthetic.ellipse(center: SIMD2(10, 10), radii: SIMD2(5, 5))
        let weak = LipObservation(outer: contour, inner: [], confidence: 0.3, locator: .classical)
        let strong = LipObservation(outer: contour, inner: [], confidence: 0.9, locator: .bus)
        let frame = Synthetic.face(width: 32, height: 32)
        #expect(
            LocatorChain([Fixed(nil, .mesh), Fixed(strong, .bus), Fixed(weak, .classical)]).locate(in: frame) == strong)
        #expect(LocatorChain([Fixed(nil, .mesh), Fixed(weak, .classical)]).locate(in: frame) == weak)
        #expect(LocatorChain([Fixed(nil, .mesh)]).locate(in: frame) == nil)
    }
}

@Suite struct ColorJPEGTests {
    @Test func test_anNV12Frame_encodesToAColourJPEGOfTheSameColours() throws {
        let frame = Synthetic.face()
        let encoder = try #require(ColorJPEGEncoder(quality: 90))
        let jpeg = try #require(encoder.encode(frame))
        #expect(jpeg.starts(with: [0xFF, 0xD8]))
        let folder = try TemporaryFolder("tryon")
        let url = folder.file("encoded.jpg")
        try Data(jpeg).write(to: url)
        let decoded = try ColorImage.loadRGB(url)
        #expect(decoded.width == frame.width && decoded.height == frame.height)
        let original = ColorImage.rgb(of: frame)
        var difference = 0.0
        for index in 0..<original.count { difference += abs(Double(original[index]) - Double(decoded.pixels[index])) }
        #expect(difference / Double(original.count) < 4)
        // The lips are red in the JPEG (a grey encoder would lose that).
        let p = (Int(Float(frame.height) * 0.64) * frame.width + frame.width / 2 + 20) * 3
        #expect(Int(decoded.pixels[p]) > Int(decoded.pixels[p + 1]) + 40)
    }
}
