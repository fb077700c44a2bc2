import Capture
import Foundation
import HubCore

/// Where a mirror's frames go and how long each stage takes: the counts and histograms /metrics shows.
struct MirrorMeasures: Sendable {
    var framesIn: UInt64 = 0
    var framesRendered: UInt64 = 0
    var framesDropped: UInt64 = 0
    /// From the capture timestamp until the pipeline has the frame (driver queue, MJPEG decode), seconds.
    var capture = Histogram(bounds: Histogram.stageBounds)
    var landmarks = Histogram(bounds: Histogram.stageBounds)
    var render = Histogram(bounds: Histogram.stageBounds)
    /// Only frames sent to the stream are encoded.
    var encode = Histogram(bounds: Histogram.stageBounds)
    /// From the capture timestamp to the JPEG handed to the stream, seconds.
    var captureToStream = Histogram(bounds: Histogram.stageBounds)

    /// The stages by their `stage` label, in pipeline order.
    var stages: [(String, Histogram)] {
        [("capture", capture), ("landmarks", landmarks), ("render", render), ("encode", encode)]
    }
}

/// A mirror pipeline's own copy of its measures, written per frame without a lock, and published to the
/// registry once a second with the summary for its status card.
struct FrameBudgetRecorder {
    private(set) var measures = MirrorMeasures()
    /// The measures at the last summary: the card shows what happened since.
    private var windowStart = MirrorMeasures()

    /// The pipeline has `frame` now, decoded.
    mutating func captured(_ frame: Frame) {
        measures.capture.record(max(0, Date().timeIntervalSince(frame.captureTime)))
    }

    mutating func located(_ duration: Duration) { measures.landmarks.record(duration.seconds) }

    mutating func rendered(_ duration: Duration) {
        measures.framesRendered += 1
        measures.render.record(duration.seconds)
    }
    mutating func encoded(_ duration: Duration) { measures.encode.record(duration.seconds) }

    /// The frame's JPEG was handed to the stream now.
    mutating func streamed(_ frame: Frame) {
        measures.captureToStream.record(max(0, Date().timeIntervalSince(frame.captureTime)))
    }

    /// Takes the source's counters, and returns the card's summary of the interval since the last call.
    mutating func summary(_ counters: FrameCounters) -> FrameBudget {
        measures.framesIn = counters.delivered + counters.dropped
        measures.framesDropped = counters.dropped
        func meanMs(_ now: Histogram, _ then: Histogram) -> Double {
            guard let window = now.since(then), window.count > 0 else { return 0 }
            return (window.sum / Double(window.count) * 1e4).rounded() / 10
        }
        let latency = measures.captureToStream.since(windowStart.captureToStream)
        let milliseconds = { (value: Double?) in value.map { ($0 * 1e4).rounded() / 10 } }
        let budget = FrameBudget(
            framesIn: measures.framesIn, framesRendered: measures.framesRendered, framesDropped: measures.framesDropped,
            stageMs: .init(
                capture: meanMs(measures.capture, windowStart.capture),
                landmarks: meanMs(measures.landmarks, windowStart.landmarks),
                render: meanMs(measures.render, windowStart.render),
                encode: meanMs(measures.encode, windowStart.encode)),
            captureToStreamMsP50: milliseconds(latency?.quantile(0.5)),
            captureToStreamMsP99: milliseconds(latency?.quantile(0.99)))
        windowStart = measures
        return budget
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension HubMetrics {
    /// Each mirror's frame budget: counters, per-stage histograms and capture-to-stream latency.
    func renderMirrors(_ out: inout PrometheusText) {
        let mirrors = registry.mirrorMeasures().sorted { $0.key < $1.key }
        guard !mirrors.isEmpty else { return }
        let counters: [(String, String, KeyPath<MirrorMeasures, UInt64>)] = [
            ("storehub_mirror_frames_in_total", "Frames a mirror's camera delivered or skipped.", \.framesIn),
            ("storehub_mirror_frames_rendered_total", "Frames a mirror rendered.", \.framesRendered),
            (
                "storehub_mirror_frames_dropped_total", "Frames a mirror skipped (pipeline busy, or damaged MJPEG).",
                \.framesDropped
            ),
        ]
        for (name, help, path) in counters {
            out.family(name, "counter", help)
            for (device, measures) in mirrors {
                out.sample(name, [("device", device.rawValue)], Double(measures[keyPath: path]))
            }
        }
        out.family(
            "storehub_mirror_stage_seconds", "histogram",
            "Time per frame of each mirror stage: capture (capture timestamp to decoded frame), landmarks, render, "
                + "encode (streamed frames).")
        for (device, measures) in mirrors {
            for (stage, histogram) in measures.stages {
                out.histogram(
                    "storehub_mirror_stage_seconds", [("device", device.rawValue), ("stage", stage)], histogram)
            }
        }
        out.family(
            "storehub_mirror_capture_to_stream_seconds", "histogram",
            "From a frame's capture timestamp to its JPEG handed to the mirror's stream.")
        for (device, measures) in mirrors {
            out.histogram(
                "storehub_mirror_capture_to_stream_seconds", [("device", device.rawValue)], measures.captureToStream)
        }
    }
}
