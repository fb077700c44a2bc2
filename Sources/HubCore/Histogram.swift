import Foundation

/// A Prometheus-style histogram kept by the hub itself: counts per upper bound, plus sum and count. Mirror status
/// cards and the log's commit figures read it; GET /metrics exports the metrics registry's own histograms.
package struct Histogram: Sendable, Equatable {
    /// Upper bounds in seconds for latencies from a millisecond to ten seconds.
    package static let latencyBounds: [Double] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    package let bounds: [Double]
    /// Observations at or below each bound and above the one before (not cumulative).
    package internal(set) var counts: [UInt64]
    package internal(set) var sum: Double = 0
    package internal(set) var count: UInt64 = 0

    package init(bounds: [Double] = Histogram.latencyBounds) {
        self.bounds = bounds
        counts = [UInt64](repeating: 0, count: bounds.count)
    }

    package mutating func record(_ value: Double) {
        if let index = bounds.firstIndex(where: { value <= $0 }) { counts[index] += 1 }
        sum += value
        count += 1
    }
}
