import HubCore
import Server
import Sinks
import Uplink

// What the hub's parts provide to the server's routes.

extension HubMetrics: MetricsProvider {
    func prometheusText() -> String { render() }
}

extension SinkSet: SinkProvider {
    package func sinkStatus() -> JSONValue { status() }

    package func resendDeadLetters(of sink: String) throws -> Int? {
        try handle(.resend, sink: sink)
    }

    package func discardDeadLetters(of sink: String) throws -> Int? {
        try handle(.discard, sink: sink)
    }
}

extension Uplink: UplinkStatusProvider {
    package func uplinkStatus() -> JSONValue { status() }
}
