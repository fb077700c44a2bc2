import Capture
import Foundation
import HubCore
import Testing

@testable import TryOn

/// Quality on real portraits (fetched at set-up by scripts/fetch-assets into .cache/faces), against MediaPipe's
/// face mesh of each (Tests/Fixtures/faces, made by scripts/reference/face_landmarks.py). The reference lip mask
/// is the fixture's outer lip contour minus its inner one.
@Suite struct FaceQualityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    struct Face {
        var name: String
        var frame: Frame
        var landmarks: [SIMD3<Float>]
    }

    static func load(_ name: String) throws -> Face {
        let fixture = root.appendingPathComponent("Tests/Fixtures/faces/\(name).json")
        let value = try JSONParser.parse(String(decoding: try Data(contentsOf: fixture), as: UTF8.self))
        guard let image = value["image"]?.stringValue, case .array(let rows)? = value["landmarks"] else {
            throw CaptureError("\(fixture.path): no image or landmarks", isTransient: false)
        }
        let imageURL = root.appendingPathComponent(".cache/faces/\(image)")
        guard FileManager.default.fileExists(atPath: imageURL.path) else {
            throw CaptureError("\(imageURL.path) is missing: run scripts/fetch-assets", isTransient: false)
        }
        let points = rows.map { row -> SIMD3<Float> in
            guard case .array(let xyz) = row else { return .zero }
            let values = xyz.map { value -> Float in
                switch value {
                case .int(let number): return Float(number)
                case .double(let number): return Float(number)
                default: return 0
                }
            }
            return SIMD3(values[0], values[1], values.count > 2 ? values[2] : 0)
        }
        return Face(name: name, frame: try ColorImage.loadNV12(imageURL), landmarks: points)
    }

    static let names = ["grace_hopper", "astronaut"]

    /// The reference lip mask of a face: fixture outer contour minus inner, pixel centres covered at least half.
    static func reference(_ face: Face) -> [Bool] {
        let lips = FaceMeshLips.contours(face.landmarks)!
        let mask = LipMask(width: face.frame.width, height: face.frame.height)
        mask.rasterize(outer: lips.outer, inner: lips.inner, feather: 0)
        return (0..<(mask.width * mask.height)).map { mask.pixels[$0] >= 128 }
    }

    /// IoU of the region a locator's observation gets rendered on (the renderer's mask at least half on, and
    /// the pixels there really changed) with the reference.
    static func renderedIoU(_ face: Face, locator: any LipLocator) -> (iou: Double, confidence: Float) {
        let frame = ColorImage.copy(face.frame)
        let renderer = TryOnRenderer(width: frame.width, height: frame.height)
        renderer.minimumConfidence = 0
        renderer.fullConfidence = 0.01
        let observation = locator.locate(in: frame)
        renderer.render(
            frame, observation: observation, shade: Synthetic.shade(color: "#1040E0", opacity: 1), time: nil)
        let reference = Self.reference(face)
        let chromaStart = frame.bytesPerRow * frame.height
        var both = 0
        var either = 0
        for y in 0..<frame.height {
            for x in 0..<frame.width {
                let index = y * frame.width + x
                let chroma = chromaStart + (y / 2) * frame.bytesPerRow + (x & ~1)
                let changed =
                    abs(Int(frame.buffer.bytes[chroma]) - Int(face.frame.buffer.bytes[chroma]))
                    + abs(Int(frame.buffer.bytes[chroma + 1]) - Int(face.frame.buffer.bytes[chroma + 1])) > 8
                let rendered = renderer.mask.pixels[index] >= 128 && changed
                if rendered && reference[index] { both += 1 }
                if rendered || reference[index] { either += 1 }
            }
        }
        return (either == 0 ? 0 : Double(both) / Double(either), observation?.confidence ?? 0)
    }

    /// The face's guide region: the bounding box of the whole mesh (where the mirror's guide would put the face).
    static func faceGuide(_ face: Face) -> (x: Float, y: Float, width: Float, height: Float) {
        let xs = face.landmarks.map(\.x)
        let ys = face.landmarks.map(\.y)
        return (xs.min()!, ys.min()!, xs.max()! - xs.min()!, ys.max()! - ys.min()!)
    }

    /// The locators under test and the IoU each must reach on every portrait.
    static func locators(for face: Face) throws -> [(LocatorKind, any LipLocator, Double)] {
        let mesh = MeshLipLocator(
            provider: FixedLandmarkProvider(face: FaceLandmarks(points: face.landmarks, score: 0.95)))
        // The tracker works on a half-size image and sends normalised mesh coordinates.
        let inbox = LandmarkInbox()
        inbox.receive(
            .object([
                "normalized": .bool(true), "confidence": .double(0.9),
                "mesh": .array(
                    face.landmarks.map {
                        .array([
                            .double(Double($0.x) / Double(face.frame.width)),
                            .double(Double($0.y) / Double(face.frame.height)), .double(Double($0.z)),
                        ])
                    }),
            ]))
        let bus = BusLipLocator(inbox: inbox, maxAge: .seconds(60))
        let classical = ClassicalLipLocator(faceGuide: faceGuide(face))
        return [(.mesh, mesh, 0.85), (.bus, bus, 0.85), (.classical, classical, 0.15)]
    }

    @Test(arguments: names)
    func test_renderedLipRegion_overlapsTheReferenceMask_perLocator(name: String) throws {
        let face = try Self.load(name)
        for (kind, locator, floor) in try Self.locators(for: face) {
            let (iou, confidence) = Self.renderedIoU(face, locator: locator)
            print(
                "IoU \(name) \(kind.rawValue) \(String(format: "%.3f", iou)) (confidence \(confidence), floor \(floor))"
            )
            #expect(iou >= floor, "\(name) \(kind.rawValue): IoU \(iou) below \(floor)")
        }
    }

    @Test(arguments: names)
    func test_meanRenderedLipColour_isWithinDeltaE5OfTheShadeBlendedOverTheLips(name: String) throws {
        let face = try Self.load(name)
        let catalog = try ShadeCatalog.load(Self.root.appendingPathComponent("Assets/shades.json"))
        let original = ColorImage.rgb(of: face.frame)
        let lips = FaceMeshLips.contours(face.landmarks)!
        for shade in catalog.shades {
            let frame = ColorImage.copy(face.frame)
            let renderer = TryOnRenderer(width: frame.width, height: frame.height)
            renderer.render(
                frame, observation: LipObservation(outer: lips.outer, inner: lips.inner, confidence: 1, locator: .mesh),
                shade: PreparedShade(shade), time: nil)
            let (after, expected) = LipBlenderTests.weightedMeans(
                original: original, rendered: ColorImage.rgb(of: frame), mask: renderer.mask, shade: shade.rgb!,
                opacity: shade.opacity)
            let difference = ColorMath.deltaE2000(ColorMath.lab(after), ColorMath.lab(expected))
            print("ΔE00 \(name) \(shade.sku) \(shade.finish.rawValue) \(String(format: "%.2f", difference))")
            #expect(difference <= 5, "\(name) \(shade.sku): ΔE00 \(difference)")
        }
    }
}
