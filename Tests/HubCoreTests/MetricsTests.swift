import HubCore
import Testing

@Suite struct MetricsTests {
    @Test func histogramBucketsAreWrittenCumulativeWithInfSumAndCount() {
        var histogram = Histogram(bounds: [0.01, 0.1, 1])
        for value in [0.005, 0.05, 0.07, 0.5, 3] { histogram.record(value) }
        var text = PrometheusText()
        text.histogram("x_seconds", [("device", "k")], histogram)
        #expect(
            text.text == """
                x_seconds_bucket{device="k",le="0.01"} 1
                x_seconds_bucket{device="k",le="0.1"} 3
                x_seconds_bucket{device="k",le="1"} 4
                x_seconds_bucket{device="k",le="+Inf"} 5
                x_seconds_sum{device="k"} 3.625
                x_seconds_count{device="k"} 5

                """)
    }

    @Test func labelValuesAreEscaped() {
        var text = PrometheusText()
        text.sample("y", [("name", "a \"quoted\" back\\slash\nline")], 2)
        #expect(text.text == #"y{name="a \"quoted\" back\\slash\nline"} 2"# + "\n")
    }

    @Test func familiesHaveHelpAndType() {
        var text = PrometheusText()
        text.family("z_total", "counter", "Things counted.")
        text.sample("z_total", [], 7)
        #expect(text.text == "# HELP z_total Things counted.\n# TYPE z_total counter\nz_total 7\n")
    }
}
