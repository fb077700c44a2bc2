import HubCore
import Hummingbird
import Logging

/// What the server shows about devices; the hub's device registry provides it.
package protocol DeviceStatusProvider: Sendable {
    func deviceSummaries() -> [DeviceSummary]
    /// A camera's latest thumbnail (JPEG), or nil.
    func preview(_ device: DeviceID) -> [UInt8]?
    /// The camera's next frame as a full-size JPEG, or nil when none came within `timeout`.
    func snapshot(_ device: DeviceID, timeout: Duration) async -> [UInt8]?
    /// Asks the device's pipeline to close and reopen it; false for an unknown device.
    func requestRestart(_ device: DeviceID) -> Bool
}

extension DeviceStatusProvider {
    package func preview(_ device: DeviceID) -> [UInt8]? { nil }
    package func snapshot(_ device: DeviceID, timeout: Duration) async -> [UInt8]? { nil }
    package func requestRestart(_ device: DeviceID) -> Bool { false }
}

/// /api/v1/devices: the devices' status, a camera's thumbnail and snapshot, and restarting a device.
struct DeviceRoutes: Sendable {
    let devices: any DeviceStatusProvider
    let authorizer: RouteAuthorizer
    let logger: Logger
    /// How long a snapshot waits for the camera's next frame.
    static let snapshotTimeout: Duration = .seconds(5)

    var routes: RouteCollection<HubRequestContext> {
        RouteCollection(context: HubRequestContext.self)
            .get(use: list)
            .get(":id/preview.jpg", use: preview)
            .post(":id/snapshot", use: snapshot)
            .post(":id/restart", use: restart)
    }

    @Sendable func list(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try authorizer.principal(request, context, roles: [.admin, .staff, .service])
        var rows: [JSONValue] = []
        for summary in devices.deviceSummaries() {
            guard case .object(var row) = try JSONValue.encoding(summary.status) else { continue }
            row["id"] = .string(summary.status.device.rawValue)
            row["lastScan"] = try summary.lastScan.map { try JSONValue.encoding($0) } ?? .null
            rows.append(.object(row))
        }
        return .json(.object(["devices": .array(rows)]))
    }

    @Sendable func preview(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try authorizer.principal(request, context, roles: [.staff, .admin])
        let device = try context.deviceParameter()
        guard let jpeg = devices.preview(device) else {
            throw HTTPError(.notFound, message: "no picture from \(device) yet (not a camera, or no frame so far)")
        }
        return .jpeg(jpeg)
    }

    @Sendable func snapshot(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try authorizer.principal(request, context, roles: [.staff, .admin])
        let device = try context.deviceParameter()
        guard devices.deviceSummaries().contains(where: { $0.status.device == device }) else {
            throw HTTPError(.notFound, message: "no device \(device)")
        }
        guard let jpeg = await devices.snapshot(device, timeout: Self.snapshotTimeout) else {
            let seconds = Self.snapshotTimeout.components.seconds
            throw HTTPError(
                .serviceUnavailable,
                message: "\(device) delivered no frame within \(seconds) s (not a camera, or offline)")
        }
        return .jpeg(jpeg)
    }

    @Sendable func restart(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let principal = try authorizer.principal(request, context, roles: [.staff, .admin])
        let device = try context.deviceParameter()
        guard devices.requestRestart(device) else {
            throw HTTPError(.notFound, message: "no device \(device)")
        }
        logger.notice("device \(device): restart requested by a \(principal.description)")
        return .json(.object(["restarting": .string(device.rawValue)]))
    }
}
