import Capture
import Foundation
import HubCore
import Prometheus

/// Where a mirror's frames go and how long each stage takes: the counts and histograms /metrics shows.
struct MirrorMeasures: Sendable {
    var framesIn: UInt64 = 0
    var framesRendered: UInt64 = 0
    var framesDropped: UInt64 = 0
    /// From the capture timestamp until the pipeline has the frame (driver queue, MJPEG decode), seconds.
    var capture = HubCore.Histogram(bounds: HubCore.Histogram.stageBounds)
    var landmarks = HubCore.Histogram(bounds: HubCore.Histogram.stageBounds)
    var render = HubCore.Histogram(bounds: HubCore.Histogram.stageBounds)
    /// Only frames sent to the stream are encoded.
    var encode = HubCore.Histogram(bounds: HubCore.Histogram.stageBounds)
    /// From the capture timestamp to the JPEG handed to the stream, seconds.
    var captureToStream = HubCore.Histogram(bounds: HubCore.Histogram.stageBounds)

    /// The frame counters alone.
    var counts: MirrorFrameCounts {
        MirrorFrameCounts(framesIn: framesIn, framesRendered: framesRendered, framesDropped: framesDropped)
    }
}

/// A mirror's frame counters as /metrics shows them.
struct MirrorFrameCounts: Sendable, Equatable {
    var framesIn: UInt64 = 0
    var framesRendered: UInt64 = 0
    var framesDropped: UInt64 = 0
}

/// A mirror's histograms in GET /metrics, recorded per frame (the registry's histograms take a lock each; the
/// pipeline's own `MirrorMeasures` keep the windows of its status card).
struct MirrorMetrics: Sendable {
    let capture: ValueHistogram
    let landmarks: ValueHistogram
    let render: ValueHistogram
    let encode: ValueHistogram
    let captureToStream: ValueHistogram

    init(_ prometheus: PrometheusCollectorRegistry, device: DeviceID) {
        func stage(_ name: String) -> ValueHistogram {
            prometheus.histogram(
                .mirrorStage, [("device", device.rawValue), ("stage", name)], buckets: HubCore.Histogram.stageBounds)
        }
        capture = stage("capture")
        landmarks = stage("landmarks")
        render = stage("render")
        encode = stage("encode")
        captureToStream = prometheus.histogram(
            .mirrorCaptureToStream, [("device", device.rawValue)], buckets: HubCore.Histogram.stageBounds)
    }
}

/// A mirror pipeline's own copy of its measures, written per frame without a lock, and published to the
/// registry once a second with the summary for its status card; `metrics` get every frame's times as they come.
struct FrameBudgetRecorder {
    private(set) var measures = MirrorMeasures()
    /// The measures at the last summary: the card shows what happened since.
    private var windowStart = MirrorMeasures()
    let metrics: MirrorMetrics?

    init(metrics: MirrorMetrics? = nil) { self.metrics = metrics }

    /// The pipeline has `frame` now, decoded.
    mutating func captured(_ frame: Frame) {
        let seconds = max(0, Date().timeIntervalSince(frame.captureTime))
        measures.capture.record(seconds)
        metrics?.capture.record(seconds)
    }

    mutating func located(_ duration: Duration) {
        measures.landmarks.record(duration.seconds)
        metrics?.landmarks.record(duration.seconds)
    }

    mutating func rendered(_ duration: Duration) {
        measures.framesRendered += 1
        measures.render.record(duration.seconds)
        metrics?.render.record(duration.seconds)
    }

    mutating func encoded(_ duration: Duration) {
        measures.encode.record(duration.seconds)
        metrics?.encode.record(duration.seconds)
    }

    /// The frame's JPEG was handed to the stream now.
    mutating func streamed(_ frame: Frame) {
        let seconds = max(0, Date().timeIntervalSince(frame.captureTime))
        measures.captureToStream.record(seconds)
        metrics?.captureToStream.record(seconds)
    }

    /// Takes the source's counters: frames it delivered or skipped so far.
    mutating func count(_ counters: FrameCounters) {
        measures.framesIn = counters.delivered + counters.dropped
        measures.framesDropped = counters.dropped
    }

    /// Takes the source's counters, and returns the card's summary of the interval since the last call.
    mutating func summary(_ counters: FrameCounters) -> FrameBudget {
        count(counters)
        func meanMs(_ now: HubCore.Histogram, _ then: HubCore.Histogram) -> Double {
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
    /// Each mirror's frame counters, as its pipeline published them last.
    func showMirrors() {
        let counters: [(MetricFamily, KeyPath<MirrorFrameCounts, UInt64>)] = [
            (.mirrorFramesIn, \.framesIn), (.mirrorFramesRendered, \.framesRendered),
            (.mirrorFramesDropped, \.framesDropped),
        ]
        for (device, counts) in registry.mirrorCounts() {
            for (family, path) in counters {
                prometheus.show(family, [("device", device.rawValue)], total: counts[keyPath: path])
            }
        }
    }
}

extension MetricFamily {
    static let mirrorFramesIn = MetricFamily(
        "storehub_mirror_frames_in_total", "Frames a mirror's camera delivered or skipped.")
    static let mirrorFramesRendered = MetricFamily("storehub_mirror_frames_rendered_total", "Frames a mirror rendered.")
    static let mirrorFramesDropped = MetricFamily(
        "storehub_mirror_frames_dropped_total", "Frames a mirror skipped (pipeline busy, or damaged MJPEG).")
    static let mirrorStage = MetricFamily(
        "storehub_mirror_stage_seconds",
        "Time per frame of each mirror stage: capture (capture timestamp to decoded frame), landmarks, render, "
            + "encode (streamed frames).")
    static let mirrorCaptureToStream = MetricFamily(
        "storehub_mirror_capture_to_stream_seconds",
        "From a frame's capture timestamp to its JPEG handed to the mirror's stream.")
}
