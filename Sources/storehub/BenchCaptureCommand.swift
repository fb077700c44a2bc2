import ArgumentParser
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
        var ages: [Double] = []
        ages.reserveCapacity(frames)
        for _ in 0..<frames {
            guard let frame = try await camera.next() else { break }
            ages.append(Date().timeIntervalSince(frame.captureTime) * 1000)
        }
        let elapsed = start.duration(to: clock.now)
        let cpu = Self.cpuSeconds() - cpuBefore
        let after = camera.counters
        let delivered = Double(after.delivered - before.delivered)
        ages.sort()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let result: [String: Any] = [
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
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let value = sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
        return (value * 100).rounded() / 100
    }
}
