import ArgumentParser
import Barcode
import Capture
import CoreFoundation
import Foundation
import HubCore

/// Live video: a 720p kiosk sequence at 30 fps through the kiosk pipeline's decoder, CPU% of one core.
///
/// The sequence is a still scene with fresh sensor noise in every frame; every `--every` seconds a code is
/// held up for `--hold` seconds: it slides in over a few frames, then stays. Frames are fed on a virtual
/// 30 fps clock as fast as they can be made; only the decoder's own thread CPU time is counted.
struct BenchLiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-live", abstract: "Benchmark live decoding at 30 fps (prints JSON).", shouldDisplay: false)

    @Option(help: "A code-free 720p image: the still scene.") var scene: String
    @Option(parsing: .upToNextOption, help: "720p images with a code, shown in turn when a code is held up.")
    var codes: [String]
    @Option(help: "Seconds of video.") var seconds: Int = 60
    @Option(help: "A code is held up every this many seconds.") var every: Int = 10
    @Option(help: "For this many seconds.") var hold: Double = 2
    @Option(help: "Sensor noise amplitude (grey levels).") var noise: Int = 4
    @Option(help: "Comma-separated symbologies.") var symbologies: String = "qr,ean13,ean8,upca,upce,code128"
    @Flag(help: "No motion skip and a whole core: read frames back to back (the naive pipeline).")
    var everyFrame = false

    func run() throws {
        let background = try ImageFile.loadGrey(URL(fileURLWithPath: scene))
        let codeFrames = try codes.map { try ImageFile.loadGrey(URL(fileURLWithPath: $0)) }
        guard !codeFrames.isEmpty,
            codeFrames.allSatisfy({ $0.width == background.width && $0.height == background.height })
        else {
            printError("--codes must name images of the same size as --scene")
            throw ExitCode.usage
        }
        let reader = try BarcodeReader(
            symbologies: try Symbology.parse(symbologies.split(separator: ",").map(String.init)))
        let live = LiveDecoder(reader: reader, skipStillFrames: !everyFrame, maxCpuShare: everyFrame ? 1 : 0.5)
        let noiseBank = NoiseBank(count: 16, size: background.width * background.height, amplitude: noise)
        let fps = 30
        let frames = seconds * fps
        let output = FrameBuffer(capacity: background.width * background.height)
        var cpu: Double = 0
        var shown = 0
        var found = 0
        var latencies: [Int] = []
        var heldSince: Int?
        var currentCode = -1
        for index in 0..<frames {
            let second = Double(index) / Double(fps)
            let phase = second.truncatingRemainder(dividingBy: Double(every))
            let holding = phase >= Double(every) / 2 && phase < Double(every) / 2 + hold
            if holding && heldSince == nil {
                heldSince = index
                currentCode = (currentCode + 1) % codeFrames.count
                shown += 1
            } else if !holding {
                heldSince = nil
            }
            // The code slides in over the first six frames of a hold.
            let slide = heldSince.map { max(0, 6 - (index - $0)) * 40 } ?? 0
            compose(
                output, background: background, code: heldSince == nil ? nil : codeFrames[currentCode], shift: slide,
                noise: noiseBank.buffer(index))
            let frame = Frame(
                format: .grey, width: background.width, height: background.height, bytesPerRow: background.width,
                captureTime: Date(), index: UInt64(index), buffer: output)
            let before = Self.threadCPUSeconds()
            let symbols = try live.process(frame, at: .milliseconds(index * 1000 / fps))
            cpu += Self.threadCPUSeconds() - before
            if let start = heldSince, let symbols, !symbols.isEmpty, latencies.count < shown {
                latencies.append(index - start)
                found += 1
            }
        }
        let counters = live.counters
        let result: [String: JSONValue] = [
            "mode": .string(everyFrame ? "no motion skip, whole core" : "motion skip + 50% budget"),
            "frames": .int(Int64(frames)), "fps": .int(Int64(fps)), "seconds": .int(Int64(seconds)),
            "framesRead": .int(Int64(counters.read)), "framesStill": .int(Int64(counters.still)),
            "framesOverBudget": .int(Int64(counters.overBudget)),
            "codesHeldUp": .int(Int64(shown)), "codesFound": .int(Int64(found)),
            "framesToFirstRead": .array(latencies.map { .int(Int64($0)) }),
            "cpuSeconds": .double((cpu * 1000).rounded() / 1000),
            "cpuPercentOfOneCore": .double((cpu / Double(seconds) * 1000).rounded() / 10),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(JSONValue.object(result)), as: UTF8.self))
    }

    private func compose(_ output: FrameBuffer, background: Frame, code: Frame?, shift: Int, noise: [Int8]) {
        let width = background.width
        let target = output.bytes.bindMemory(to: UInt8.self)
        let scenePixels = background.buffer.bytes.bindMemory(to: UInt8.self)
        let codePixels = code?.buffer.bytes.bindMemory(to: UInt8.self)
        for y in 0..<background.height {
            for x in 0..<width {
                let index = y * width + x
                var value = Int(scenePixels[index])
                if let codePixels {
                    let sx = x - shift
                    if sx >= 0 { value = Int(codePixels[y * width + sx]) }
                }
                target[index] = UInt8(clamping: value + Int(noise[index]))
            }
        }
    }

    static func threadCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// Pre-made sensor noise, so making frames costs little next to decoding them.
struct NoiseBank {
    let buffers: [[Int8]]

    init(count: Int, size: Int, amplitude: Int) {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        buffers = (0..<count).map { _ in
            (0..<size).map { _ in
                var sum = 0
                for _ in 0..<3 {
                    state ^= state << 13
                    state ^= state >> 7
                    state ^= state << 17
                    sum += Int(state % UInt64(2 * amplitude + 1)) - amplitude
                }
                return Int8(clamping: sum)
            }
        }
    }

    func buffer(_ index: Int) -> [Int8] { buffers[index % buffers.count] }
}

/// The decoders' memory over many decodes: zbar on a QR with its scanner recycled every 500 decodes and never,
/// or zxing-cpp on a DataMatrix (nothing to recycle: its reader keeps no state between reads).
struct BenchDecodeMemoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-decode-memory", abstract: "RSS before and after many decodes (prints JSON).",
        shouldDisplay: false)

    @Option(help: "An image with one code of --symbology (small images make this quick).") var image: String
    @Option(help: "Decodes per run.") var decodes: Int = 100_000
    @Option(help: "Recycle interval of the zbar scanner; 0 runs with StoreHub's default and without recycling.")
    var recycle: Int = 0
    @Option(help: "qr (zbar) or datamatrix (zxing-cpp).") var symbology: String = "qr"

    func run() throws {
        let frame = try ImageFile.loadGrey(URL(fileURLWithPath: image))
        var rows: [JSONValue] = []
        switch symbology {
        case "qr":
            for interval in recycle > 0 ? [recycle] : [500, Int.max] {
                let scanner = try BarcodeScanner(symbologies: [.qr], recycleInterval: interval)
                var row = try measure { try scanner.scan(frame) }
                row["engine"] = .string("zbar")
                row["recycleInterval"] = interval == Int.max ? .string("never") : .int(Int64(interval))
                rows.append(.object(row))
            }
        case "datamatrix":
            let scanner = try ZXingScanner(symbologies: [.datamatrix])
            var row = try measure { try scanner.scan(frame) }
            row["engine"] = .string("zxing-cpp")
            rows.append(.object(row))
        default:
            printError("--symbology must be qr or datamatrix")
            throw ExitCode(64)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for row in rows { print(String(decoding: try encoder.encode(row), as: UTF8.self)) }
    }

    /// RSS before and after `decodes` calls of `decode`, after 1,000 warm-up calls (the first allocations of the
    /// library and the process are not growth).
    private func measure(_ decode: () throws -> [DecodedSymbol]) throws -> [String: JSONValue] {
        for _ in 0..<1000 { _ = try decode() }
        let before = Self.residentKiB()
        var read = 0
        for _ in 0..<decodes where try !decode().isEmpty { read += 1 }
        let after = Self.residentKiB()
        return [
            "decodes": .int(Int64(decodes)), "read": .int(Int64(read)), "rssBeforeKiB": .int(Int64(before)),
            "rssAfterKiB": .int(Int64(after)), "growthKiB": .int(Int64(after - before)),
        ]
    }

    /// Resident set size from /proc/self/statm.
    static func residentKiB() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
    }
}
