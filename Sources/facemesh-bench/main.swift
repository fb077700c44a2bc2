// Times StoreHub's native face pipeline on portraits, one JSON line per image, for scripts/bench/facemesh_bench.py.
//
//   facemesh-bench --models DIR [--iterations N] IMAGE.ppm...
//   facemesh-bench --models DIR [--iterations N] --layers
//
// --kernels portable|avx2+fma runs the face models on that copy of the kernels instead of the one chosen at start
// for this CPU; every JSON line names the set it ran on.
//
// Per image: the detector alone, the landmarks in tracking mode (the mirror's steady state), detector and landmarks
// on every frame (tracking lost each time), and tracking on an NV12 frame made from the image (what a camera
// delivers), in milliseconds per frame (median of N).
import FaceMesh
import Foundation
import HubCore

struct PPM {
    let width: Int
    let height: Int
    let pixels: [UInt8]

    init(_ url: URL) throws {
        let data = [UInt8](try Data(contentsOf: url))
        var fields: [Int] = []
        var index = 2
        guard data.starts(with: [0x50, 0x36]) else { throw BenchError("\(url.path): not a binary PPM (P6)") }
        while fields.count < 3 {
            while index < data.count, data[index] == 0x20 || data[index] == 0x0A || data[index] == 0x0D { index += 1 }
            var value = 0
            while index < data.count, data[index] >= 0x30, data[index] <= 0x39 {
                value = value * 10 + Int(data[index] - 0x30)
                index += 1
            }
            fields.append(value)
        }
        index += 1
        width = fields[0]
        height = fields[1]
        guard fields[2] == 255, data.count - index >= width * height * 3 else {
            throw BenchError("\(url.path): not an 8-bit PPM of \(width)x\(height)")
        }
        pixels = Array(data[index..<(index + width * height * 3)])
    }

    /// The image as a camera's NV12 frame (BT.601 limited range, chroma averaged over 2x2).
    func nv12() -> Frame {
        let buffer = FrameBuffer(capacity: width * height + width * ((height + 1) / 2))
        let bytes = buffer.bytes
        func yuv(_ x: Int, _ y: Int) -> (Float, Float, Float) {
            let p = (y * width + x) * 3
            let r = Float(pixels[p])
            let g = Float(pixels[p + 1])
            let b = Float(pixels[p + 2])
            return (
                16 + 0.257 * r + 0.504 * g + 0.098 * b, 128 - 0.148 * r - 0.291 * g + 0.439 * b,
                128 + 0.439 * r - 0.368 * g - 0.071 * b
            )
        }
        for y in 0..<height {
            for x in 0..<width { bytes[y * width + x] = UInt8(min(max(yuv(x, y).0.rounded(), 0), 255)) }
        }
        for y in stride(from: 0, to: height, by: 2) {
            for x in stride(from: 0, to: width, by: 2) {
                var u: Float = 0
                var v: Float = 0
                var n: Float = 0
                for dy in 0..<2 where y + dy < height {
                    for dx in 0..<2 where x + dx < width {
                        let c = yuv(x + dx, y + dy)
                        u += c.1
                        v += c.2
                        n += 1
                    }
                }
                let at = width * height + (y / 2) * width + x
                bytes[at] = UInt8(min(max((u / n).rounded(), 0), 255))
                bytes[at + 1] = UInt8(min(max((v / n).rounded(), 0), 255))
            }
        }
        return Frame(
            format: .nv12, width: width, height: height, bytesPerRow: width, captureTime: Date(), index: 0,
            buffer: buffer)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Milliseconds per call, median of `iterations`: wall clock, and CPU time of the process (which on a shared
/// machine leaves out the time other processes held the core).
struct Timing {
    var wall: Double
    var cpu: Double
}

func processCPUTime() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return Double(now.tv_sec) * 1e3 + Double(now.tv_nsec) * 1e-6
}

func median(_ iterations: Int, _ body: () throws -> Void) rethrows -> Timing {
    var wall: [Double] = []
    var cpu: [Double] = []
    for _ in 0..<iterations {
        let start = ContinuousClock.now
        let startCPU = processCPUTime()
        try body()
        cpu.append(processCPUTime() - startCPU)
        let elapsed = ContinuousClock.now - start
        wall.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) * 1e-15)
    }
    return Timing(wall: wall.sorted()[wall.count / 2], cpu: cpu.sorted()[cpu.count / 2])
}

func main() throws {
    var arguments = Array(CommandLine.arguments.dropFirst())
    var models: URL?
    var iterations = 50
    var images: [URL] = []
    // --track-only N: only N tracking updates on each image's NV12 frame after one warm-up, nothing printed;
    // --detect-only N: the same with tracking dropped before each update, so the detector runs every time. For
    // counting allocations from outside (Tests/Integration/test_facemesh_allocations.py runs them under valgrind).
    var trackOnly: Int?
    var detectEachFrame = false
    // --layers: each operator's time instead of the pipeline's (no images needed).
    var layers = false
    while !arguments.isEmpty {
        let argument = arguments.removeFirst()
        switch argument {
        case "--models": models = URL(fileURLWithPath: arguments.removeFirst())
        case "--iterations": iterations = Int(arguments.removeFirst()) ?? iterations
        case "--layers": layers = true
        case "--kernels":
            let name = arguments.removeFirst()
            guard let set = KernelSet(rawValue: name), KernelSet.use(set) else {
                throw BenchError("--kernels \(name): not a kernel set this CPU runs (\(KernelSet.allCases))")
            }
        case "--track-only": trackOnly = Int(arguments.removeFirst())
        case "--detect-only":
            trackOnly = Int(arguments.removeFirst())
            detectEachFrame = true
        default: images.append(URL(fileURLWithPath: argument))
        }
    }
    if let models, layers {
        print("kernels: \(KernelSet.active.rawValue)")
        print(try LayerProfile.report(modelsDirectory: models, iterations: iterations))
        return
    }
    guard let models, !images.isEmpty else {
        throw BenchError("usage: facemesh-bench --models DIR [--iterations N] IMAGE.ppm...")
    }
    let landmarker = try FaceLandmarker(modelsDirectory: models)
    for url in images {
        let image = try PPM(url)
        let frame = image.nv12()
        var result = FaceLandmarks()
        if let trackOnly {
            guard try landmarker.update(&result, for: frame) else { throw BenchError("\(url.path): no face") }
            for _ in 0..<trackOnly {
                if detectEachFrame { landmarker.reset() }
                guard try landmarker.update(&result, for: frame) else { throw BenchError("\(url.path): face lost") }
            }
            continue
        }
        var found = true
        let detector = try image.pixels.withUnsafeBytes { rgb in
            try median(iterations) {
                found =
                    try landmarker.detect(
                        rgb: rgb, width: image.width, height: image.height, bytesPerRow: image.width * 3) != nil
                    && found
            }
        }
        landmarker.reset()
        let tracking = try image.pixels.withUnsafeBytes { rgb in
            _ = try landmarker.update(
                &result, rgb: rgb, width: image.width, height: image.height, bytesPerRow: image.width * 3)
            return try median(iterations) {
                found =
                    try landmarker.update(
                        &result, rgb: rgb, width: image.width, height: image.height, bytesPerRow: image.width * 3)
                    && found
            }
        }
        let everyFrame = try image.pixels.withUnsafeBytes { rgb in
            try median(iterations) {
                landmarker.reset()
                found =
                    try landmarker.update(
                        &result, rgb: rgb, width: image.width, height: image.height, bytesPerRow: image.width * 3)
                    && found
            }
        }
        landmarker.reset()
        _ = try landmarker.update(&result, for: frame)
        let frameTracking = try median(iterations) { found = try landmarker.update(&result, for: frame) && found }
        let line: [String: Any] = [
            "image": url.deletingPathExtension().lastPathComponent, "width": image.width, "height": image.height,
            "found": found, "detector_ms": detector.wall, "landmarks_tracking_ms": tracking.wall,
            "nv12_landmarks_tracking_ms": frameTracking.wall, "detector_and_landmarks_ms": everyFrame.wall,
            "detector_cpu_ms": detector.cpu, "landmarks_tracking_cpu_ms": tracking.cpu,
            "nv12_landmarks_tracking_cpu_ms": frameTracking.cpu, "detector_and_landmarks_cpu_ms": everyFrame.cpu,
            "iterations": iterations, "kernels": KernelSet.active.rawValue,
        ]
        let json = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }
}

do {
    try main()
} catch {
    FileHandle.standardError.write(Data("facemesh-bench: \(error)\n".utf8))
    exit(1)
}
