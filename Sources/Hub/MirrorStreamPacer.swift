import Foundation

/// Which of a mirror's frames go to its stream: `fps` a second at most on average, on a schedule of the frames'
/// capture times.
///
/// Capture times come from the camera and are regular; the time a frame is done is not (landmarks, a slow frame,
/// the other work on the box). Compared on the done time, a 30 fps camera with a 30 fps stream had frames done a
/// little less than an interval after the last streamed one skipped, and streamed about 19 frames a second. On
/// the schedule a camera at the stream's rate has every frame streamed, one at twice the rate every other.
struct MirrorStreamPacer {
    /// Seconds between the stream's turns.
    let interval: TimeInterval
    /// A frame captured this much before its turn still takes it: far more than a camera's timestamp jitter,
    /// less than any frame interval that would have the stream run faster than `fps`.
    private var early: TimeInterval { interval / 4 }
    private var nextTurn: Date?

    init(fps: Double) { interval = 1 / fps }

    /// Whether the frame captured at `time` goes to the stream. A frame with a new look (`now`) goes at once, and
    /// the schedule starts again from it.
    mutating func admits(capturedAt time: Date, now: Bool = false) -> Bool {
        guard let turn = nextTurn, !now else {
            nextTurn = time + interval
            return true
        }
        guard time >= turn - early else { return false }
        // On schedule the next turn is one interval on; after a gap (frames skipped) it starts from this frame.
        nextTurn = (time.timeIntervalSince(turn) < interval ? turn : time) + interval
        return true
    }
}
