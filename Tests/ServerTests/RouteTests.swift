import EventLog
import Foundation
import HTTPTypes
import HubCore
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import Synchronization
import Testing

/// Two devices: a camera with a picture and a scanner without one.
struct TestDevices: DeviceStatusProvider {
    static let camera = try! DeviceID(validating: "cam-1")
    static let scanner = try! DeviceID(validating: "scan-1")
    static let picture: [UInt8] = [0xFF, 0xD8, 0xFF, 0xD9]
    let restarted = Restarts()

    final class Restarts: Sendable {
        let devices = Mutex<[DeviceID]>([])
    }

    func deviceSummaries() -> [DeviceSummary] {
        let since = Date(timeIntervalSince1970: 0)
        return [
            DeviceSummary(
                status: DeviceStatus(
                    device: Self.camera, kind: .kiosk, name: "Kiosk", state: .online, reason: "", since: since),
                lastScan: .init(symbology: "EAN-13", text: "4006381333931", time: "1970-01-01T00:00:00Z")),
            DeviceSummary(
                status: DeviceStatus(
                    device: Self.scanner, kind: .scanner, name: "Till", state: .online, reason: "", since: since),
                lastScan: nil),
        ]
    }

    func preview(_ device: DeviceID) -> [UInt8]? { device == Self.camera ? Self.picture : nil }

    func snapshot(_ device: DeviceID, timeout: Duration) async -> [UInt8]? {
        device == Self.camera ? Self.picture : nil
    }

    func requestRestart(_ device: DeviceID) -> Bool {
        guard device == Self.camera || device == Self.scanner else { return false }
        restarted.devices.withLock { $0.append(device) }
        return true
    }
}

@Suite struct HealthRouteTests {
    @Test func healthNeedsNoTokenAndReportsTheLogsLastSequence() async throws {
        let fixture = try RouteFixture()
        _ = try await fixture.log.append([EventDraft(topic: "test.one", body: Array(#"{"a":1}"#.utf8))])
        try await withRoutes(of: fixture.server()) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                let body = response.json
                #expect(body["status"]?.stringValue == "ok")
                #expect(body["lastSequence"] == .int(1))
                #expect(body["version"]?.stringValue == StoreHubVersion.current)
            }
        }
    }

    @Test func rootIsNotFoundWithoutAStatusPage() async throws {
        let fixture = try RouteFixture()
        try await withRoutes(of: fixture.server()) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("no status page configured"))
            }
        }
    }
}

@Suite struct HubStatusRouteTests {
    struct Connected: UplinkStatusProvider {
        func uplinkStatus() -> JSONValue { .object(["connected": .bool(true)]) }
    }

    @Test func hubPanelNeedsATokenAndRefusesDevices() async throws {
        let fixture = try RouteFixture()
        let device = try fixture.token(.device, device: TestDevices.camera)
        try await withRoutes(of: fixture.server()) { client in
            try await client.execute(uri: "/api/v1/hub", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/api/v1/hub", method: .get, headers: bearer(device)) { response in
                #expect(response.status == .forbidden)
            }
        }
    }

    @Test func hubPanelShowsConsumersAndTheUplinkOrNull() async throws {
        let fixture = try RouteFixture()
        let staff = try fixture.token(.staff)
        _ = try await fixture.log.append((0..<3).map { _ in EventDraft(topic: "test.x", body: Array("{}".utf8)) })
        fixture.log.acknowledge(consumer: "panel", sequence: 1)
        try await withRoutes(of: fixture.server(uplink: Connected())) { client in
            try await client.execute(uri: "/api/v1/hub", method: .get, headers: bearer(staff)) { response in
                #expect(response.status == .ok)
                let body = response.json
                #expect(body["uplink"]?["connected"] == .bool(true))
                #expect(body["lastSequence"] == .int(3))
                #expect(body["retainedEvents"] == .int(3))
                #expect(body["consumers"]?[0]?["name"]?.stringValue == "panel")
                #expect(body["consumers"]?[0]?["behind"] == .int(2))
            }
        }
        try await withRoutes(of: fixture.server()) { client in
            try await client.execute(uri: "/api/v1/hub", method: .get, headers: bearer(staff)) { response in
                #expect(response.json["uplink"] == .null)
            }
        }
    }
}

@Suite struct DeviceRouteTests {
    @Test func deviceListNeedsATokenAndRefusesDevices() async throws {
        let fixture = try RouteFixture()
        let device = try fixture.token(.device, device: TestDevices.camera)
        try await withRoutes(of: fixture.server()) { client in
            try await client.execute(uri: "/api/v1/devices", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/api/v1/devices", method: .get, headers: bearer("not-a-token")) {
                response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("token not accepted"))
            }
            try await client.execute(uri: "/api/v1/devices", method: .get, headers: bearer(device)) { response in
                #expect(response.status == .forbidden)
            }
        }
    }

    @Test func deviceListHasEachDevicesIdStateAndLastScan() async throws {
        let fixture = try RouteFixture()
        let service = try fixture.token(.service)
        try await withRoutes(of: fixture.server()) { client in
            try await client.execute(uri: "/api/v1/devices", method: .get, headers: bearer(service)) { response in
                #expect(response.status == .ok)
                let devices = response.json["devices"]
                #expect(devices?[0]?["id"]?.stringValue == "cam-1")
                #expect(devices?[0]?["state"]?.stringValue == "online")
                #expect(devices?[0]?["lastScan"]?["text"]?.stringValue == "4006381333931")
                #expect(devices?[1]?["id"]?.stringValue == "scan-1")
                #expect(devices?[1]?["lastScan"] == .null)
                #expect(devices?[2] == nil)
            }
        }
    }

    @Test func previewIsTheCamerasJPEGForStaffOnly() async throws {
        let fixture = try RouteFixture()
        let staff = try fixture.token(.staff)
        let service = try fixture.token(.service)
        try await withRoutes(of: fixture.server()) { client in
            try await client.execute(uri: "/api/v1/devices/cam-1/preview.jpg", method: .get, headers: bearer(staff)) {
                response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "image/jpeg")
                #expect(response.headers[.cacheControl] == "no-store")
                #expect(response.bytes == TestDevices.picture)
            }
            try await client.execute(uri: "/api/v1/devices/cam-1/preview.jpg", method: .get, headers: bearer(service)) {
                response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/api/v1/devices/scan-1/preview.jpg", method: .get, headers: bearer(staff)) {
                response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/devices/Bad%20Id/preview.jpg", method: .get, headers: bearer(staff))
            { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func snapshotIsAFrameOr503() async throws {
        let fixture = try RouteFixture()
        let admin = try fixture.token(.admin)
        try await withRoutes(of: fixture.server()) { client in
            try await client.execute(uri: "/api/v1/devices/cam-1/snapshot", method: .post, headers: bearer(admin)) {
                response in
                #expect(response.status == .ok)
                #expect(response.bytes == TestDevices.picture)
            }
            try await client.execute(uri: "/api/v1/devices/scan-1/snapshot", method: .post, headers: bearer(admin)) {
                response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("no frame within 5 s"))
            }
        }
    }

    @Test func restartAsksTheDeviceAndNamesIt() async throws {
        let fixture = try RouteFixture()
        let staff = try fixture.token(.staff)
        let service = try fixture.token(.service)
        let devices = TestDevices()
        try await withRoutes(of: fixture.server(devices: devices)) { client in
            try await client.execute(uri: "/api/v1/devices/scan-1/restart", method: .post, headers: bearer(service)) {
                response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/api/v1/devices/scan-1/restart", method: .post, headers: bearer(staff)) {
                response in
                #expect(response.status == .ok)
                #expect(response.json["restarting"]?.stringValue == "scan-1")
            }
            try await client.execute(uri: "/api/v1/devices/nope/restart", method: .post, headers: bearer(staff)) {
                response in
                #expect(response.status == .notFound)
            }
        }
        #expect(devices.restarted.devices.withLock { $0 } == [TestDevices.scanner])
    }
}

@Suite struct EventRouteTests {
    @Test func eventsArePagedWithNext() async throws {
        let fixture = try RouteFixture()
        let service = try fixture.token(.service)
        _ = try await fixture.log.append(
            (0..<5).map { index in EventDraft(topic: "scan.cam-1", body: Array(#"{"n":\#(index)}"#.utf8)) })
        try await withRoutes(of: fixture.server()) { client in
            try await client.execute(
                uri: "/api/v1/events?topic=scan.%3E&after=1&limit=2", method: .get, headers: bearer(service)
            ) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let body = response.json
                #expect(body["events"]?[0]?["sequence"] == .int(2))
                #expect(body["events"]?[1]?["sequence"] == .int(3))
                #expect(body["events"]?[2] == nil)
                #expect(body["next"] == .int(3))
            }
        }
    }

    @Test func eventsNeedATokenAndCheckTheQuery() async throws {
        let fixture = try RouteFixture()
        let staff = try fixture.token(.staff)
        try await withRoutes(of: fixture.server()) { client in
            try await client.execute(uri: "/api/v1/events", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            for query in ["limit=0", "limit=1001", "after=-1", "limit=ten"] {
                try await client.execute(uri: "/api/v1/events?\(query)", method: .get, headers: bearer(staff)) {
                    response in
                    #expect(response.status == .badRequest, "\(query)")
                }
            }
            try await client.execute(uri: "/api/v1/events?topic=scan..x", method: .get, headers: bearer(staff)) {
                response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("topic:"))
            }
        }
    }

    @Test func tokensReadOnlyTheTopicsTheirRoleMay() async throws {
        let fixture = try RouteFixture()
        let device = try fixture.token(.device, device: TestDevices.camera)
        let service = try fixture.token(.service)
        try await withRoutes(of: fixture.server()) { client in
            try await client.execute(uri: "/api/v1/events?topic=scan.%3E", method: .get, headers: bearer(device)) {
                response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/api/v1/events", method: .get, headers: bearer(service)) { response in
                #expect(response.status == .forbidden)
                #expect(String(buffer: response.body).contains("may not read '>'"))
            }
        }
    }

    @Test func plainGetOfTheBusSaysItIsAWebSocket() async throws {
        let fixture = try RouteFixture()
        let staff = try fixture.token(.staff)
        try await withRoutes(of: fixture.server()) { client in
            try await client.execute(uri: HubServer.busPath, method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: HubServer.busPath, method: .get, headers: bearer(staff)) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("WebSocket"))
            }
        }
    }
}

@Suite struct SinkRouteTests {
    /// One sink, "crm", with three dead letters; records what was asked of it.
    final class TestSinks: SinkProvider {
        let asked = Mutex<[String]>([])

        func sinkStatus() -> JSONValue { .object(["sinks": .array([.object(["name": .string("crm")])])]) }

        func resendDeadLetters(of sink: String) throws -> Int? {
            asked.withLock { $0.append("resend \(sink)") }
            return sink == "crm" ? 3 : nil
        }

        func discardDeadLetters(of sink: String) throws -> Int? {
            asked.withLock { $0.append("discard \(sink)") }
            return sink == "crm" ? 3 : nil
        }
    }

    @Test func sinkRoutesExistOnlyWithSinks() async throws {
        let fixture = try RouteFixture()
        let admin = try fixture.token(.admin)
        try await withRoutes(of: fixture.server()) { client in
            try await client.execute(uri: "/api/v1/sinks", method: .get, headers: bearer(admin)) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func staffSeeSinksAndResendButOnlyAdminsDiscard() async throws {
        let fixture = try RouteFixture()
        let staff = try fixture.token(.staff)
        let admin = try fixture.token(.admin)
        let service = try fixture.token(.service)
        let sinks = TestSinks()
        try await withRoutes(of: fixture.server(sinks: sinks)) { client in
            try await client.execute(uri: "/api/v1/sinks", method: .get, headers: bearer(service)) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/api/v1/sinks", method: .get, headers: bearer(staff)) { response in
                #expect(response.status == .ok)
                #expect(response.json["sinks"]?[0]?["name"]?.stringValue == "crm")
            }
            try await client.execute(
                uri: "/api/v1/sinks/crm/dead-letters/resend", method: .post, headers: bearer(staff)
            ) { response in
                #expect(response.status == .ok)
                #expect(response.json == .object(["sink": .string("crm"), "resending": .int(3)]))
            }
            try await client.execute(uri: "/api/v1/sinks/crm/dead-letters", method: .delete, headers: bearer(staff)) {
                response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/api/v1/sinks/crm/dead-letters", method: .delete, headers: bearer(admin)) {
                response in
                #expect(response.status == .ok)
                #expect(response.json == .object(["sink": .string("crm"), "deleted": .int(3)]))
            }
            try await client.execute(uri: "/api/v1/sinks/erp/dead-letters", method: .delete, headers: bearer(admin)) {
                response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("no sink named 'erp'"))
            }
        }
        #expect(sinks.asked.withLock { $0 } == ["resend crm", "discard crm", "discard erp"])
    }
}

@Suite struct MetricsRouteTests {
    struct FixedMetrics: MetricsProvider {
        func prometheusText() -> String { "# TYPE storehub_up gauge\nstorehub_up 1\n" }
    }

    @Test func metricsAreThePrometheusTextForAnyRole() async throws {
        let fixture = try RouteFixture()
        let service = try fixture.token(.service)
        let device = try fixture.token(.device, device: TestDevices.camera)
        try await withRoutes(of: fixture.server(metrics: FixedMetrics())) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/metrics", method: .get, headers: bearer(device)) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/metrics", method: .get, headers: bearer(service)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                #expect(String(buffer: response.body) == FixedMetrics().prometheusText())
            }
        }
        try await withRoutes(of: fixture.server()) { client in
            try await client.execute(uri: "/metrics", method: .get, headers: bearer(service)) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}

@Suite struct AuthThrottleRouteTests {
    @Test func tooManyRefusedTokensAreAnsweredWith429AndRetryAfterButAGoodTokenIsServed() async throws {
        let fixture = try RouteFixture()
        let staff = try fixture.token(.staff)
        try await withRoutes(of: fixture.server()) { client in
            for _ in 0..<10 {
                try await client.execute(uri: "/api/v1/devices", method: .get, headers: bearer("guess")) { response in
                    #expect(response.status == .unauthorized)
                }
            }
            try await client.execute(uri: "/api/v1/devices", method: .get, headers: bearer("guess")) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] != nil)
            }
            try await client.execute(uri: "/api/v1/devices", method: .get, headers: bearer(staff)) { response in
                #expect(response.status == .ok)
            }
        }
    }
}

@Suite struct MirrorRouteTests {
    static let mirror = try! DeviceID(validating: "mirror-1")

    /// One mirror with one rendered frame; stops after handing it out, so a stream ends after one part.
    final class OneFrameMirror: MirrorProvider {
        static let frame: [UInt8] = [0xFF, 0xD8, 0x01, 0xFF, 0xD9]
        let stopping = Atomic<Bool>(false)
        var shadesJSON: [UInt8] { Array(#"[{"id":"rose"}]"#.utf8) }
        var isStopping: Bool { stopping.load(ordering: .relaxed) }

        func isMirror(_ device: DeviceID) -> Bool { device == MirrorRouteTests.mirror }

        func nextFrame(_ device: DeviceID, after: UInt64, timeout: Duration) async -> (
            sequence: UInt64, jpeg: [UInt8]
        )? {
            stopping.store(true, ordering: .relaxed)
            return (1, Self.frame)
        }

        static let snapshotID = "0123456789abcdef0123456789abcdef"
        func snapshot(_ id: String) -> [UInt8]? { id == Self.snapshotID ? Self.frame : nil }

        func snapshotInfo(_ id: String) -> SnapshotInfo? {
            id == Self.snapshotID ? SnapshotInfo(device: nil, shade: nil, expires: .distantFuture) : nil
        }

        func deleteSnapshot(_ id: String) -> Bool { false }

        func visit(_ device: DeviceID) -> String? { nil }
    }

    @Test func mirrorRoutesExistOnlyWithMirrors() async throws {
        let fixture = try RouteFixture()
        let staff = try fixture.token(.staff)
        try await withRoutes(of: fixture.server()) { client in
            try await client.execute(uri: "/api/v1/shades", method: .get, headers: bearer(staff)) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func shadesNeedAnyToken() async throws {
        let fixture = try RouteFixture()
        let device = try fixture.token(.device, device: Self.mirror)
        try await withRoutes(of: fixture.server(mirrors: OneFrameMirror())) { client in
            try await client.execute(uri: "/api/v1/shades", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/api/v1/shades", method: .get, headers: bearer(device)) { response in
                #expect(response.status == .ok)
                #expect(response.json[0]?["id"]?.stringValue == "rose")
            }
        }
    }

    @Test func aTicketOpensTheStreamOnceAndOnlyForItsMirror() async throws {
        let fixture = try RouteFixture()
        let staff = try fixture.token(.staff)
        try await withRoutes(of: fixture.server(mirrors: OneFrameMirror())) { client in
            let url = try await client.execute(
                uri: "/api/v1/mirrors/mirror-1/ticket", method: .post, headers: bearer(staff)
            ) { response in
                #expect(response.status == .ok)
                return response.json["url"]?.stringValue ?? ""
            }
            #expect(url.hasPrefix("/mirror/mirror-1.mjpeg?ticket="))
            try await client.execute(uri: url, method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "multipart/x-mixed-replace; boundary=storehub-frame")
                let body = String(decoding: response.bytes, as: UTF8.self)
                #expect(body.hasPrefix("--storehub-frame\r\nContent-Type: image/jpeg\r\nContent-Length: 5\r\n\r\n"))
                #expect(body.hasSuffix("\r\n--storehub-frame\r\n"))
            }
            try await client.execute(uri: url, method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/mirror/cam-1.mjpeg", method: .get, headers: bearer(staff)) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/mirrors/cam-1/ticket", method: .post, headers: bearer(staff)) {
                response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func aDeviceTokenWatchesOnlyItsOwnMirror() async throws {
        let fixture = try RouteFixture()
        let own = try fixture.token(.device, device: Self.mirror)
        let other = try fixture.token(.device, device: TestDevices.camera)
        try await withRoutes(of: fixture.server(mirrors: OneFrameMirror())) { client in
            try await client.execute(uri: "/api/v1/mirrors/mirror-1/ticket", method: .post, headers: bearer(other)) {
                response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/mirror/mirror-1.mjpeg", method: .get, headers: bearer(other)) {
                response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/mirror/mirror-1.mjpeg", method: .get, headers: bearer(own)) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func snapshotsAreForStaffAdminsAndServices() async throws {
        let fixture = try RouteFixture()
        let service = try fixture.token(.service)
        let device = try fixture.token(.device, device: Self.mirror)
        let snapshot = "/api/v1/snapshots/\(OneFrameMirror.snapshotID).jpg"
        try await withRoutes(of: fixture.server(mirrors: OneFrameMirror())) { client in
            try await client.execute(uri: snapshot, method: .get, headers: bearer(service)) { response in
                #expect(response.status == .ok)
                #expect(response.bytes == OneFrameMirror.frame)
            }
            try await client.execute(uri: snapshot, method: .get, headers: bearer(device)) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(
                uri: "/api/v1/snapshots/ffffffffffffffffffffffffffffffff.jpg", method: .get, headers: bearer(service)
            ) { response in
                #expect(response.status == .notFound)
            }
            for file in ["zzz.jpg", "\(OneFrameMirror.snapshotID).png"] {
                try await client.execute(uri: "/api/v1/snapshots/\(file)", method: .get, headers: bearer(service)) {
                    response in
                    #expect(response.status == .badRequest)
                }
            }
        }
    }
}
