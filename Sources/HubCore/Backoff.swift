/// Exponential backoff with jitter, for reopening devices, reconnecting to brokers and retrying deliveries.
///
/// The n-th delay is random in [base/2, base], base = initial × 2ⁿ⁻¹ up to `maximum`: the jitter spreads hubs
/// that lost the same service at once, and the lower bound keeps retries from bunching at zero.
package struct Backoff: Sendable {
    /// Seconds.
    package let initial: Double
    package let maximum: Double
    package private(set) var attempt = 0

    package init(initial: Double = 0.5, maximum: Double = 30) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// The next delay in seconds.
    package mutating func next() -> Double {
        let base = min(maximum, initial * Double(1 << min(attempt, 30)))
        attempt += 1
        return Double.random(in: (base / 2)...base)
    }

    /// After a success: the next delay starts again from `initial`.
    package mutating func reset() { attempt = 0 }
}
