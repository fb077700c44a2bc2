import Bus
import Config
import EventLog
import Foundation
import HTTPTypes
import HubCore
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Server
import StoreHubTestSupport
import Testing

/// A hub server's routes on a real log and token store in a temporary folder, run in-process.
final class RouteFixture: Sendable {
    let bus: BusFixture
    var log: EventLog { bus.log }

    init() throws {
        bus = try BusFixture()
    }

    /// A new token of `role`.
    func token(_ role: Role, device: DeviceID? = nil) throws -> String {
        try bus.token(role, device: device)
    }

    func server(
        devices: any DeviceStatusProvider = TestDevices(), metrics: (any MetricsProvider)? = nil,
        sinks: (any SinkProvider)? = nil, uplink: (any UplinkStatusProvider)? = nil,
        mirrors: (any MirrorProvider)? = nil
    ) -> HubServer {
        var server = HubServer(
            listen: .init(), bus: bus.bus, tokens: bus.tokens, devices: devices, statusPage: nil, metrics: metrics,
            mirrors: mirrors, logger: Logger(label: "route-test"))
        server.sinks = sinks
        server.uplink = uplink
        return server
    }
}

/// Runs `test` against `server`'s routes through Hummingbird's in-process router test client.
func withRoutes<Value: Sendable>(
    of server: HubServer, _ test: @Sendable (any TestClientProtocol) async throws -> Value
) async throws -> Value {
    try await Application(router: server.makeRouter()).test(.router, test)
}

/// The request headers of a bearer token.
func bearer(_ token: String) -> HTTPFields {
    [.authorization: "Bearer \(token)"]
}

extension TestResponse {
    /// The body as JSON; a body that is not JSON is recorded as an issue and reads as null.
    var json: JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))
        } catch {
            Issue.record("the body is not JSON: \(String(buffer: body))")
            return .null
        }
    }

    /// The body's bytes.
    var bytes: [UInt8] { Array(buffer: body) }
}

extension JSONValue {
    /// The element at `index` of an array, nil for anything else.
    subscript(index: Int) -> JSONValue? {
        guard case .array(let array) = self, array.indices.contains(index) else { return nil }
        return array[index]
    }
}
