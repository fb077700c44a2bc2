import HubCore
import Testing

/// The histogram arithmetic behind a mirror's frame budget: what happened since a reading, and its quantiles.
@Suite struct FrameBudgetTests {
    @Test func sinceGivesTheObservationsAfterTheEarlierReading() throws {
        var histogram = Histogram(bounds: Histogram.stageBounds)
        for value in [0.001, 0.002, 0.030] { histogram.record(value) }
        let earlier = histogram
        for value in [0.004, 0.004, 0.2] { histogram.record(value) }
        let window = try #require(histogram.since(earlier))
        #expect(window.count == 3)
        #expect(abs(window.sum - 0.208) < 1e-12)
        #expect(window.counts.reduce(0, +) == 3)
        #expect(histogram.since(Histogram()) == nil, "other bounds")
        #expect(earlier.since(histogram) == nil, "a later reading is not earlier")
    }

    @Test func quantilesInterpolateInsideTheirBucket() throws {
        var histogram = Histogram(bounds: [0.01, 0.02, 0.04])
        #expect(histogram.quantile(0.5) == nil)
        for _ in 0..<50 { histogram.record(0.005) }
        for _ in 0..<50 { histogram.record(0.015) }
        #expect(try #require(histogram.quantile(0.5)) <= 0.01)
        let p99 = try #require(histogram.quantile(0.99))
        #expect(p99 > 0.01 && p99 <= 0.02)
        histogram.record(5)
        #expect(histogram.quantile(1) == 0.04, "beyond the last bound counts as the last bound")
    }
}
