import HubCore
import Testing

@Suite struct HistogramTests {
    @Test func anObservationCountsInTheFirstBucketThatHoldsItAndInSumAndCount() {
        var histogram = Histogram(bounds: [0.01, 0.1, 1])
        for value in [0.005, 0.05, 0.07, 0.5, 3] { histogram.record(value) }
        #expect(histogram.counts == [1, 2, 1], "3 is beyond the last bound: only in sum and count")
        #expect(histogram.sum == 3.625)
        #expect(histogram.count == 5)
    }
}
