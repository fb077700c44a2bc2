/// Wall-clock pacing shared by the replay sources: frame `n` is due `n / fps` seconds after the first, and a
/// consumer that falls behind skips the frames it missed, as with a live camera.
struct ReplayPacing {
    let fps: Double
    private var start: ContinuousClock.Instant?
    private var lastTick: Int64 = -1

    init(fps: Double) { self.fps = fps }

    /// The next tick and when it is due (the first call starts the clock).
    mutating func next() -> (tick: Int64, due: ContinuousClock.Instant) {
        let start = self.start ?? .now
        self.start = start
        let tick = lastTick + 1
        return (tick, start.advanced(by: .seconds(1 / fps) * Double(tick)))
    }

    /// After waiting for `tick`: the tick that is current now (later when the consumer fell behind) and how many
    /// were skipped on the way.
    mutating func take(_ tick: Int64) -> (current: Int64, skipped: UInt64) {
        let elapsed = (start ?? .now).duration(to: .now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let current = max(tick, Int64(seconds * fps))
        defer { lastTick = current }
        return (current, UInt64(max(0, current - lastTick - 1)))
    }

    mutating func reset() {
        start = nil
        lastTick = -1
    }

    /// Sleeps until `due` unless it has passed.
    static func wait(until due: ContinuousClock.Instant) async throws {
        if due > .now { try await Task.sleep(until: due, clock: .continuous) }
    }
}
