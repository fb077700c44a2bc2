import Prometheus
import Testing

@testable import Hub

@Suite struct HubMetricsTests {
    @Test func histogramBucketsAreWrittenCumulativeWithInfSumAndCount() {
        let prometheus = PrometheusCollectorRegistry()
        let histogram = prometheus.histogram(
            MetricFamily("x_seconds", "Time of x."), [("device", "k")], buckets: [0.01, 0.1, 1])
        for value in [0.005, 0.05, 0.07, 0.5, 3] { histogram.record(value) }
        #expect(
            prometheus.emitToString() == """
                # HELP x_seconds Time of x.
                # TYPE x_seconds histogram
                x_seconds_bucket{device="k",le="0.01"} 1
                x_seconds_bucket{device="k",le="0.1"} 3
                x_seconds_bucket{device="k",le="1.0"} 4
                x_seconds_bucket{device="k",le="+Inf"} 5
                x_seconds_sum{device="k"} 3.625
                x_seconds_count{device="k"} 5

                """)
    }

    @Test func labelValuesAreEscaped() {
        let prometheus = PrometheusCollectorRegistry()
        prometheus.show(MetricFamily("y", "A gauge."), [("name", "a \"quoted\" back\\slash\nline")], value: 2)
        #expect(prometheus.emitToString().hasSuffix(#"y{name="a \"quoted\" back\\slash\nline"} 2.0"# + "\n"))
    }

    @Test func familiesHaveHelpAndType() {
        let prometheus = PrometheusCollectorRegistry()
        prometheus.show(MetricFamily("z_total", "Things counted."), total: UInt64(7))
        #expect(prometheus.emitToString() == "# HELP z_total Things counted.\n# TYPE z_total counter\nz_total 7\n")
    }

    @Test func aCounterTheHubCountsElsewhereShowsItsLatestTotal() {
        let prometheus = PrometheusCollectorRegistry()
        let family = MetricFamily("z_total", "Things counted.")
        prometheus.show(family, total: UInt64(7))
        prometheus.show(family, total: UInt64(9))
        #expect(prometheus.emitToString().hasSuffix("\nz_total 9\n"))
        prometheus.show(family, total: 1.5)
        #expect(prometheus.emitToString().hasSuffix("\nz_total 1.5\n"))
    }
}
