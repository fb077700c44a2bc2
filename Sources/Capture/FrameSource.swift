import HubCore

/// Something that delivers camera frames: a V4L2 camera, or files replayed for the demo and tests.
///
/// One pipeline task pulls frames with `next()`. The source decides which frame that is: always the newest
/// it has, so a slow consumer skips frames instead of working on stale ones; skipped frames are counted.
package protocol FrameSource: Sendable {
    /// For logs and status: what this source reads.
    var description: String { get }
    /// Opens the device or files. Throws a CaptureError that says what is wrong and what to do.
    func open() async throws
    /// Waits for the next frame. Its buffer stays valid until the next call to `next()` or `close()`.
    /// Returns nil when a finite source has ended.
    func next() async throws -> Frame?
    /// Releases the device. `open()` may be called again later.
    func close()
    /// Frames delivered and skipped so far.
    var counters: FrameCounters { get }
    /// After `open()`: what works but not as configured (a camera control the device refused), for staff.
    var warnings: [String] { get }
    /// After a failed `open()`: waits until retrying makes sense, at most `limit`. Sources whose device can
    /// appear (a camera plugged in) return as soon as it does.
    func waitForDevice(upTo limit: Duration) async throws
}

extension FrameSource {
    package var warnings: [String] { [] }

    package func waitForDevice(upTo limit: Duration) async throws {
        try await Task.sleep(for: limit)
    }
}

/// Frames a source delivered to its consumer, and frames it skipped because the consumer was busy.
package struct FrameCounters: Sendable, Equatable {
    package var delivered: UInt64 = 0
    package var dropped: UInt64 = 0
    /// Delivered frames whose pixels had to be copied or decoded (YUYV luma, MJPEG); the others were lent in place.
    package var converted: UInt64 = 0
    /// Times a stalled stream was stopped and started again without closing the device.
    package var streamRestarts: UInt64 = 0
    /// Frames skipped because they could not be decoded (damaged MJPEG); also counted in `dropped`.
    package var damaged: UInt64 = 0

    package init(
        delivered: UInt64 = 0, dropped: UInt64 = 0, converted: UInt64 = 0, streamRestarts: UInt64 = 0,
        damaged: UInt64 = 0
    ) {
        self.delivered = delivered
        self.dropped = dropped
        self.converted = converted
        self.streamRestarts = streamRestarts
        self.damaged = damaged
    }
}

/// A capture failure: what happened, and whether retrying may help (an unplugged camera) or not (bad files).
package struct CaptureError: DeviceFailure, Sendable {
    package var message: String
    /// True when the device may come back by itself; the supervisor retries with backoff.
    package var isTransient: Bool
    /// No frame came in time; the source has already restarted its stream, and the next `next()` may succeed.
    package var isStall: Bool

    package init(_ message: String, isTransient: Bool, isStall: Bool = false) {
        self.message = message
        self.isTransient = isTransient
        self.isStall = isStall
    }

    package var description: String { message }
}
