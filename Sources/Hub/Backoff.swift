/// Exponential backoff with full jitter, for reconnecting to devices that went away.
struct Backoff {
    var initial: Double = 0.5
    var maximum: Double = 30
    private(set) var attempt = 0

    /// The next delay in seconds: random in [base/2, base], base doubling per attempt up to `maximum`.
    mutating func next() -> Double {
        let base = min(maximum, initial * Double(1 << min(attempt, 16)))
        attempt += 1
        return Double.random(in: (base / 2)...base)
    }

    mutating func reset() { attempt = 0 }
}
