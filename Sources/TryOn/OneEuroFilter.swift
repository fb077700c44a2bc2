import Foundation

/// The One Euro filter (Casiez, Roussel and Vogel, CHI 2012): a low-pass filter whose cutoff rises with speed, so
/// a still face stays still (no jitter) and a moving one is followed without lag.
package struct OneEuroFilter: Sendable {
    /// Cutoff at rest, Hz: lower means less jitter.
    package var minCutoff: Double
    /// How fast the cutoff rises with speed (per unit/s): higher means less lag.
    package var beta: Double
    /// Cutoff for the speed estimate, Hz.
    package var derivativeCutoff: Double
    private var value: Double?
    private var derivative = 0.0

    package init(minCutoff: Double = 1.0, beta: Double = 0.05, derivativeCutoff: Double = 1.0) {
        self.minCutoff = minCutoff
        self.beta = beta
        self.derivativeCutoff = derivativeCutoff
    }

    private static func alpha(cutoff: Double, interval: Double) -> Double {
        let tau = 1 / (2 * Double.pi * cutoff)
        return 1 / (1 + tau / interval)
    }

    /// Filters a sample taken `interval` seconds after the previous one.
    package mutating func filter(_ sample: Double, interval: Double) -> Double {
        guard let previous = value, interval > 0 else {
            value = sample
            return sample
        }
        let speed = (sample - previous) / interval
        derivative += Self.alpha(cutoff: derivativeCutoff, interval: interval) * (speed - derivative)
        let cutoff = minCutoff + beta * abs(derivative)
        let next = previous + Self.alpha(cutoff: cutoff, interval: interval) * (sample - previous)
        value = next
        return next
    }

    package mutating func reset() {
        value = nil
        derivative = 0
    }
}

/// One Euro filters for every coordinate of a pair of lip contours. The filters start over when the contours'
/// point counts or the locator change (their points would not correspond).
struct ContourSmoother {
    var minCutoff: Double
    var beta: Double
    private var filters: [OneEuroFilter] = []
    private var shape: (outer: Int, inner: Int, locator: LocatorKind)?
    var outer: [SIMD2<Float>] = []
    var inner: [SIMD2<Float>] = []

    init(minCutoff: Double, beta: Double) {
        self.minCutoff = minCutoff
        self.beta = beta
    }

    /// Smooths `observation` taken `interval` seconds after the previous one into `outer` and `inner`.
    mutating func update(_ observation: LipObservation, interval: Double) {
        let current = (observation.outer.count, observation.inner.count, observation.locator)
        if shape == nil || shape! != current {
            shape = current
            let count = 2 * (current.0 + current.1)
            filters = Array(repeating: OneEuroFilter(minCutoff: minCutoff, beta: beta), count: count)
            outer = observation.outer
            inner = observation.inner
        }
        for index in observation.outer.indices {
            let point = observation.outer[index]
            outer[index] = SIMD2(
                Float(filters[2 * index].filter(Double(point.x), interval: interval)),
                Float(filters[2 * index + 1].filter(Double(point.y), interval: interval)))
        }
        let base = 2 * observation.outer.count
        for index in observation.inner.indices {
            let point = observation.inner[index]
            inner[index] = SIMD2(
                Float(filters[base + 2 * index].filter(Double(point.x), interval: interval)),
                Float(filters[base + 2 * index + 1].filter(Double(point.y), interval: interval)))
        }
    }

    mutating func reset() { shape = nil }
}
