import HubCore
import Server
import Sinks
import Uplink

// What the hub's parts provide to the server's routes.

extension HubMetrics: MetricsProvider {
    func prometheusText() -> String { render() }
}

extension SinkSet: SinkProvider {
    public func sinkStatus() -> JSONValue { status() }

    public func resendDeadLetters(of sink: String) throws -> Int? {
        try handle(.resend, sink: sink)
    }

    public func discardDeadLetters(of sink: String) throws -> Int? {
        try handle(.discard, sink: sink)
    }
}

extension Uplink: UplinkStatusProvider {
    public func uplinkStatus() -> JSONValue { status() }
}
