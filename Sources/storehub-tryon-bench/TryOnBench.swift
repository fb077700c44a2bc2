import ArgumentParser
import Capture
import Foundation
import HubCore
import TryOn

/// `storehub-tryon-bench`: times the mirror's per-frame work without the locator, step by step, on one still (prints JSON):
/// `convert` (NV12 chroma into the JPEG encoder's planes), `mask` (raster and feather), `blend`, `encode`
/// (libjpeg-turbo), and `frame` (the whole mirror frame: render with smoothing and fading, then JPEG). Then the
/// mirror screen's renderer: `render` (the renderer alone, shade everywhere, neutral light), `light` (the
/// lighting transform alone, whole frame), `renderSplitLight` (the renderer with the before/after line in the
/// middle of the frame and the evening preset: what a mirror does per frame before JPEG) and `frameSplitLight`
/// (that, then JPEG). Times are the thread's CPU time in milliseconds, medians.
///
/// Its own small executable (HubCore, Capture, TryOn, no network stack), so `make bench-tryon` needs only
/// those in a release build.
@main
struct TryOnBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storehub-tryon-bench", abstract: "Benchmark the try-on renderer on one image (prints JSON).")

    @Option(help: "The frame (JPEG or PNG).") var image: String
    @Option(help: "Its 468-point face mesh ({\"landmarks\": [[x, y, z], ...]}).") var landmarks: String
    @Option(help: "Shade catalog.") var catalog = "Assets/shades.json"
    @Option(help: "Shade SKU.") var shade = "LS-101"
    @Option(help: "Frames to time.") var frames = 300
    @Option(help: "JPEG quality.") var quality: Int32 = 80

    func run() throws {
        let still = try ColorImage.loadNV12(URL(fileURLWithPath: image))
        let frame = ColorImage.copy(still)
        let size = still.bytesPerRow * still.height * 3 / 2
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: landmarks)), as: UTF8.self)
        let face = try FaceLandmarks.mesh(from: try JSONParser.parse(text))
        guard let lips = FaceMeshLips.contours(face.points) else {
            throw ArgumentParser.ValidationError("no lips in the landmarks")
        }
        let observation = LipObservation(outer: lips.outer, inner: lips.inner, confidence: 1, locator: .mesh)
        let shades = try ShadeCatalog.load(URL(fileURLWithPath: catalog))
        guard let chosen = shades[shade], let prepared = PreparedShade(chosen) else {
            throw ArgumentParser.ValidationError("no shade \(shade)")
        }
        guard let encoder = ColorJPEGEncoder(quality: quality) else {
            throw ArgumentParser.ValidationError("libjpeg-turbo")
        }
        let mask = LipMask(width: still.width, height: still.height)
        let blender = LipBlender()
        let renderer = TryOnRenderer(width: still.width, height: still.height)
        let splitRenderer = TryOnRenderer(width: still.width, height: still.height)
        splitRenderer.split = 0.5
        let lighting = LightingTransform()
        lighting.set(.evening)
        var mouthWidth: Float = 0
        var center = SIMD2<Float>(0, 0)
        let xs = observation.outer.map(\.x)
        mouthWidth = xs.max()! - xs.min()!
        for point in observation.outer { center += point / Float(observation.outer.count) }
        let feather = min(max(Int((mouthWidth * renderer.featherShare).rounded()), 1), 8)
        let anchor = LipBlender.Anchor(center: center, width: mouthWidth)
        var steps: [String: [Double]] = [
            "convert": [], "mask": [], "blend": [], "encode": [], "frame": [], "render": [], "light": [],
            "renderSplitLight": [], "frameSplitLight": [],
        ]
        func restore() {
            frame.buffer.bytes.copyMemory(from: UnsafeRawBufferPointer(rebasing: still.buffer.bytes[0..<size]))
        }
        // CPU time of this thread, not wall time: on a shared machine other processes' turns are not counted.
        func now() -> Double {
            var spec = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
            return Double(spec.tv_sec) * 1000 + Double(spec.tv_nsec) / 1e6
        }
        func ms(_ milliseconds: Double) -> Double { milliseconds }
        var bytes = 0
        for index in 0..<(frames + 10) {
            restore()
            let t0 = now()
            mask.rasterize(outer: observation.outer, inner: observation.inner, feather: feather)
            let t1 = now()
            blender.blend(frame, mask: mask, shade: prepared, strength: 1, anchor: anchor)
            let t2 = now()
            _ = encoder.splitPlanes(frame)
            let t3 = now()
            bytes = encoder.compressPlanes { $0.count } ?? 0
            let t4 = now()
            restore()
            let t5 = now()
            renderer.render(frame, observation: observation, shade: prepared, time: Double(index) / 30)
            _ = encoder.encode(frame) { $0.count }
            let t6 = now()
            restore()
            let r0 = now()
            renderer.render(frame, observation: observation, shade: prepared, time: Double(index) / 30)
            let r1 = now()
            lighting.apply(to: frame)
            let r2 = now()
            restore()
            let s0 = now()
            splitRenderer.render(frame, observation: observation, shade: prepared, time: Double(index) / 30)
            lighting.apply(to: frame)
            let s1 = now()
            _ = encoder.encode(frame) { $0.count }
            let s2 = now()
            guard index >= 10 else { continue }  // warm-up
            steps["mask"]!.append(ms(t1 - t0))
            steps["blend"]!.append(ms(t2 - t1))
            steps["convert"]!.append(ms(t3 - t2))
            steps["encode"]!.append(ms(t4 - t3))
            steps["frame"]!.append(ms(t6 - t5))
            steps["render"]!.append(ms(r1 - r0))
            steps["light"]!.append(ms(r2 - r1))
            steps["renderSplitLight"]!.append(ms(s1 - s0))
            steps["frameSplitLight"]!.append(ms(s2 - s0))
        }
        var result: [String: JSONValue] = [
            "width": .int(Int64(still.width)), "height": .int(Int64(still.height)), "frames": .int(Int64(frames)),
            "jpegBytes": .int(Int64(bytes)), "feather": .int(Int64(feather)),
        ]
        for (name, values) in steps {
            let sorted = values.sorted()
            result[name + "Ms"] = .double(sorted[sorted.count / 2])
        }
        print(String(decoding: JSONValue.object(result).jsonBytes, as: UTF8.self))
    }
}
