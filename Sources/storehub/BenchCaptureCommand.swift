import ArgumentParser
import Barcode
import Capture
import Foundation
import HubCore

/// Measures V4L2 capture alone: CPU and copies per frame, and how old a frame is when the pipeline gets it.
struct BenchCaptureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-capture", abstract: "Benchmark V4L2 capture on a camera (prints JSON).",
        shouldDisplay: false)

    @Option(help: "The camera.") var path = "/dev/video0"
    @Option(help: "Frame width.") var width = 1280
    @Option(help: "Frame height.") var height = 720
    @Option(help: "Pin a pixel format (GREY, NV12, YU12, YUYV, MJPG).") var format: String?
    @Option(help: "Frames to capture.") var frames = 250
    @Flag(help: "Also decode each frame (QR and EAN-13) and report decode time per frame.") var decode = false

    func run() async throws {
        let camera = V4L2Camera(path: path, width: width, height: height, format: format)
        try await camera.open()
        defer { camera.close() }
        // The first frames include the driver's start-up; they are not measured.
        for _ in 0..<5 { _ = try await camera.next() }
        let before = camera.counters
        let cpuBefore = Self.cpuSeconds()
        let clock = ContinuousClock()
        let start = clock.now
        let scanner = decode ? try BarcodeScanner(symbologies: [.qr, .ean13]) : nil
        var ages: [Double] = []
        var decodeTimes: [Double] = []
        var symbols = 0
        ages.reserveCapacity(frames)
        decodeTimes.reserveCapacity(frames)
        for _ in 0..<frames {
            guard let frame = try await camera.next() else { break }
            ages.append(Date().timeIntervalSince(frame.captureTime) * 1000)
            if let scanner {
                let began = clock.now
                symbols += try scanner.scan(frame).count
                decodeTimes.append(Self.milliseconds(began.duration(to: clock.now)))
            }
        }
        let elapsed = start.duration(to: clock.now)
        let cpu = Self.cpuSeconds() - cpuBefore
        let after = camera.counters
        let delivered = Double(after.delivered - before.delivered)
        ages.sort()
        decodeTimes.sort()
        let seconds = Self.milliseconds(elapsed) / 1000
        var result: [String: Any] = [
            "format": camera.negotiated?.fourcc ?? "?",
            "width": camera.negotiated?.width ?? 0,
            "height": camera.negotiated?.height ?? 0,
            "frames": Int(delivered),
            "fps": (delivered / seconds * 10).rounded() / 10,
            "cpuMicrosecondsPerFrame": (cpu / delivered * 1e6).rounded(),
            "cpuPercentOfOneCore": (cpu / seconds * 1000).rounded() / 10,
            "copiesPerFrame": Double(after.converted - before.converted) / delivered,
            "framesSkipped": after.dropped - before.dropped,
            "bufferToPipelineMsP50": Self.percentile(ages, 0.50),
            "bufferToPipelineMsP99": Self.percentile(ages, 0.99),
        ]
        if decode {
            result["decodeMsP50"] = Self.percentile(decodeTimes, 0.50)
            result["decodeMsP99"] = Self.percentile(decodeTimes, 0.99)
            result["symbolsDecoded"] = symbols
        }
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let value = sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
        return (value * 100).rounded() / 100
    }
}
