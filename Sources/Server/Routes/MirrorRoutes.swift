import Foundation
import HubCore
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// What the server shows of the try-on mirrors; the hub's mirror pipelines provide it.
package protocol MirrorProvider: Sendable {
    /// The shade catalog as GET /api/v1/shades serves it (a JSON array).
    var shadesJSON: [UInt8] { get }
    func isMirror(_ device: DeviceID) -> Bool
    /// Waits for a rendered frame (JPEG) newer than `after` (0: the latest one). Nil when `device` is not a
    /// mirror, nothing came within `timeout`, or the hub is stopping.
    func nextFrame(_ device: DeviceID, after: UInt64, timeout: Duration) async -> (sequence: UInt64, jpeg: [UInt8])?
    /// A snapshot's JPEG; nil for ids never issued, deleted or expired.
    func snapshot(_ id: String) -> [UInt8]?
    /// Which mirror took a snapshot, wearing what, until when; nil for ids never issued, deleted or expired.
    func snapshotInfo(_ id: String) -> SnapshotInfo?
    /// Deletes a snapshot's files at once; false when there was no such snapshot.
    func deleteSnapshot(_ id: String) -> Bool
    /// The session id of the shopper at `device` now, or nil while nobody is there.
    func visit(_ device: DeviceID) -> String?
    /// True once the hub is stopping: open streams end.
    var isStopping: Bool { get }
}

/// Single-use, short-lived permissions to open one mirror's stream, for pages that cannot put a header on an
/// `<img>` request: the page asks for a ticket with its token in a header and puts only the ticket in the URL.
final class StreamTickets: Sendable {
    // Mutex: tickets are issued and redeemed by concurrent requests.
    private let tickets = Mutex<[String: (device: DeviceID, expires: ContinuousClock.Instant)]>([:])
    static let lifetime: Duration = .seconds(30)

    func issue(for device: DeviceID) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let ticket = bytes.map { String(format: "%02x", $0) }.joined()
        let now = ContinuousClock.now
        tickets.withLock { tickets in
            tickets = tickets.filter { $0.value.expires > now }
            tickets[ticket] = (device, now + Self.lifetime)
        }
        return ticket
    }

    /// True, once, for a ticket issued for `device` that has not expired.
    func redeem(_ ticket: String, for device: DeviceID) -> Bool {
        tickets.withLock { tickets in
            guard let entry = tickets.removeValue(forKey: ticket) else { return false }
            return entry.device == device && entry.expires > .now
        }
    }
}

/// What the hub keeps about a snapshot beside its picture (in `<id>.json` next to `<id>.jpg`).
package struct SnapshotInfo: Sendable, Equatable {
    /// The mirror that took it; nil for a picture from a version that did not record it (staff only).
    package var device: DeviceID?
    /// The shade worn: `sku`, `name`, `brand`, `color`, `finish`, perhaps `names`; nil when none was.
    package var shade: JSONValue?
    package var expires: Date

    package init(device: DeviceID?, shade: JSONValue?, expires: Date) {
        self.device = device
        self.shade = shade
        self.expires = expires
    }

    /// Reads the stored form; nil when it is damaged.
    package init?(json: JSONValue) {
        guard case .object(let fields) = json else { return nil }
        device = fields["device"]?.stringValue.flatMap { try? DeviceID(validating: $0) }
        shade = fields["shade"].flatMap { $0 == .null ? nil : $0 }
        expires = .distantPast
    }

    /// The stored form.
    package var json: JSONValue {
        .object(["device": device.map { .string($0.rawValue) } ?? .null, "shade": shade ?? .null])
    }
}

/// The try-on mirrors: their live streams (with single-use tickets for pages), snapshots and the shade catalog.
struct MirrorRoutes: Sendable {
    let mirrors: any MirrorProvider
    let tickets: StreamTickets
    let authorizer: RouteAuthorizer
    let logger: Logger
    /// Multipart boundary of the mirror stream.
    static let streamBoundary = "storehub-frame"

    var routes: RouteCollection<HubRequestContext> {
        RouteCollection(context: HubRequestContext.self)
            .get("/api/v1/shades", use: shades)
            .post("/api/v1/mirrors/:id/ticket", use: ticket)
            .get("/api/v1/snapshots/:file", use: snapshot)
            .get("/mirror/:file", use: stream)
    }

    /// Who may watch a mirror: staff and admins, and the mirror's own device and screen tokens.
    static func mayView(_ principal: Principal, _ device: DeviceID) -> Bool {
        principal.role == .admin || principal.role == .staff
            || ((principal.role == .device || principal.role == .screen) && principal.device == device)
    }

    /// Who may read a snapshot: admins, staff and services (the sharing service), and the screen of the mirror that
    /// took it.
    static func mayRead(_ principal: Principal, _ snapshot: SnapshotInfo) -> Bool {
        [.admin, .staff, .service].contains(principal.role)
            || (principal.role == .screen && snapshot.device != nil && principal.device == snapshot.device)
    }

    @Sendable func shades(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        _ = try authorizer.principal(request, context)
        return .json(bytes: mirrors.shadesJSON)
    }

    @Sendable func ticket(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let principal = try authorizer.principal(request, context)
        let device = try context.deviceParameter()
        guard mirrors.isMirror(device) else { throw HTTPError(.notFound, message: "no mirror \(device)") }
        guard Self.mayView(principal, device) else {
            throw HTTPError(.forbidden, message: "a \(principal.description) may not watch \(device)")
        }
        let ticket = tickets.issue(for: device)
        return .json(
            .object([
                "ticket": .string(ticket), "expiresInSeconds": .int(StreamTickets.lifetime.components.seconds),
                "url": .string("/mirror/\(device).mjpeg?ticket=\(ticket)"),
                "visit": mirrors.visit(device).map(JSONValue.string) ?? .null,
            ]))
    }

    @Sendable func snapshot(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let principal = try authorizer.principal(request, context, roles: [.admin, .staff, .service, .screen])
        let id = try PathValue.hexID("file", suffix: ".jpg", of: context)
        guard let info = mirrors.snapshotInfo(id), let jpeg = mirrors.snapshot(id) else {
            throw HTTPError(.notFound, message: "no such snapshot (unknown, deleted or expired)")
        }
        guard Self.mayRead(principal, info) else {
            throw HTTPError(.forbidden, message: "a \(principal.description) may read only its own mirror's snapshots")
        }
        logger.debug("snapshot read by a \(principal.description)")
        return .jpeg(jpeg)
    }

    /// A mirror's live stream, opened with a ticket in the URL or a token in the header.
    @Sendable func stream(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        guard let file = context.parameters.get("file"), file.hasSuffix(".mjpeg"),
            let device = try? DeviceID(validating: String(file.dropLast(6)))
        else {
            throw HTTPError(.notFound, message: "mirror streams are /mirror/<device>.mjpeg")
        }
        guard mirrors.isMirror(device) else { throw HTTPError(.notFound, message: "no mirror \(device)") }
        if let ticket = try ClientQuery(request).value("ticket") {
            guard PathValue.isHexID(ticket), tickets.redeem(String(ticket), for: device) else {
                throw HTTPError(.unauthorized, message: "ticket not accepted (used, expired, or for another mirror)")
            }
            authorizer.connections.authenticated(context.connection)
        } else {
            let principal = try authorizer.principal(request, context)
            guard Self.mayView(principal, device) else {
                throw HTTPError(.forbidden, message: "a \(principal.description) may not watch \(device)")
            }
        }
        return Self.mjpegStream(device, mirrors: mirrors)
    }

    /// multipart/x-mixed-replace: each part's JPEG is followed at once by the next boundary, so a browser shows a
    /// frame as soon as it arrives instead of when the next one starts.
    static func mjpegStream(_ device: DeviceID, mirrors: any MirrorProvider) -> Response {
        let boundary = streamBoundary
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: "--\(boundary)\r\n"))
            var last: UInt64 = 0
            while !Task.isCancelled && !mirrors.isStopping {
                guard let (sequence, jpeg) = await mirrors.nextFrame(device, after: last, timeout: .seconds(2)) else {
                    continue
                }
                last = sequence
                var part = ByteBuffer()
                part.reserveCapacity(jpeg.count + 128)
                part.writeString("Content-Type: image/jpeg\r\nContent-Length: \(jpeg.count)\r\n\r\n")
                part.writeBytes(jpeg)
                part.writeString("\r\n--\(boundary)\r\n")
                try await writer.write(part)
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "multipart/x-mixed-replace; boundary=\(boundary)", .cacheControl: "no-store",
            ], body: body)
    }
}
