import Foundation

/// A mirror's frame budget as its status card shows it: frames in, rendered and dropped since the mirror
/// opened its camera, and where a frame's time went during the last reporting interval (about a second).
package struct FrameBudget: Sendable, Codable, Equatable {
    /// Frames the camera produced that reached the hub (rendered ones and dropped ones).
    package var framesIn: UInt64
    package var framesRendered: UInt64
    /// Frames skipped because the pipeline was busy, or damaged (MJPEG) ones.
    package var framesDropped: UInt64
    /// Mean milliseconds per frame of each stage: `capture` (from the capture timestamp until the pipeline has the
    /// decoded frame), `landmarks`, `render`, `encode` (only frames sent to the stream).
    package var stageMs: Stages
    /// From a frame's capture timestamp to its JPEG handed to the stream, median and 99th percentile in
    /// milliseconds (histogram estimates); nil while no frame was streamed in the interval.
    package var captureToStreamMsP50: Double?
    package var captureToStreamMsP99: Double?

    /// Milliseconds per stage.
    package struct Stages: Sendable, Codable, Equatable {
        package var capture: Double
        package var landmarks: Double
        package var render: Double
        package var encode: Double

        package init(capture: Double = 0, landmarks: Double = 0, render: Double = 0, encode: Double = 0) {
            self.capture = capture
            self.landmarks = landmarks
            self.render = render
            self.encode = encode
        }
    }

    package init(
        framesIn: UInt64, framesRendered: UInt64, framesDropped: UInt64, stageMs: Stages,
        captureToStreamMsP50: Double?, captureToStreamMsP99: Double?
    ) {
        self.framesIn = framesIn
        self.framesRendered = framesRendered
        self.framesDropped = framesDropped
        self.stageMs = stageMs
        self.captureToStreamMsP50 = captureToStreamMsP50
        self.captureToStreamMsP99 = captureToStreamMsP99
    }
}

extension Histogram {
    /// Bounds in seconds for the stages of a frame, 0.25 ms to a second: a 30 fps frame has 33 ms in all.
    package static let stageBounds: [Double] = [
        0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.033, 0.05, 0.075, 0.1,
        0.25, 0.5, 1,
    ]

    /// What was recorded since `earlier` (a copy of this histogram taken before); nil when the bounds differ or
    /// `earlier` has more observations (the histogram was started over).
    package func since(_ earlier: Histogram) -> Histogram? {
        guard earlier.bounds == bounds, earlier.count <= count else { return nil }
        var window = Histogram(bounds: bounds)
        window.counts = zip(counts, earlier.counts).map { $0 >= $1 ? $0 - $1 : 0 }
        window.sum = sum - earlier.sum
        window.count = count - earlier.count
        return window
    }

    /// The value below which a share `q` (0...1) of the observations lie, interpolated linearly inside its
    /// bucket; observations beyond the last bound count as the last bound. Nil when nothing was recorded.
    package func quantile(_ q: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = min(max(q, 0), 1) * Double(count)
        var below: UInt64 = 0
        for (index, bucket) in counts.enumerated() {
            if bucket > 0, Double(below + bucket) >= rank {
                let lower = index == 0 ? 0 : bounds[index - 1]
                let share = (rank - Double(below)) / Double(bucket)
                return lower + (bounds[index] - lower) * min(max(share, 0), 1)
            }
            below += bucket
        }
        return bounds.last
    }
}
