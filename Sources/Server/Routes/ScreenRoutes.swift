import Bus
import Config
import Foundation
import HubCore
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The customer screens as the server knows them: where their pages are, which devices have one, and where the
/// share QR codes lead.
package struct ScreenDirectory: Sendable {
    /// Folder with `mirror.html`, `kiosk.html`, their scripts and styles, and `i18n/<language>.json`.
    package var folder: String
    package var devices: [DeviceID: Screen]
    package var share: ShareSettings

    /// One device's screen.
    package struct Screen: Sendable, Equatable {
        /// `kiosk` or `mirror`.
        package var kind: DeviceKind
        /// For staff: "Beauty corner try-on mirror".
        package var name: String
        /// The first is the default.
        package var languages: [String]
        /// Kiosks: seconds the screen waits for a service's answer to a scan before its own fallback.
        package var answerTimeoutSeconds: Double

        package init(kind: DeviceKind, name: String, languages: [String], answerTimeoutSeconds: Double = 4) {
            self.kind = kind
            self.name = name
            self.languages = languages
            self.answerTimeoutSeconds = answerTimeoutSeconds
        }
    }

    package init(folder: String, devices: [DeviceID: Screen], share: ShareSettings) {
        self.folder = folder
        self.devices = devices
        self.share = share
    }
}

/// Screens waiting to be paired: each shows a short code until staff approve it for a device, then collects its
/// token once. Codes expire; how many pairings an address may start, and how many may wait, is bounded.
final class ScreenPairings: Sendable {
    static let lifetime: Duration = .seconds(300)
    static let maxPending = 32
    /// Pairings one address may start per minute (a screen that reloads starts a new one).
    static let perAddressPerMinute = 6
    /// No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a code read off a screen and typed by staff should not be misread.
    static let alphabet = Array("ACDEFGHJKMNPQRTUVWXY34679")

    // Mutex: pairings are started, polled and approved by concurrent requests.
    private let state = Mutex(State())

    private struct State {
        var pending: [String: Pending] = [:]
        var starts: [String: [ContinuousClock.Instant]] = [:]
    }

    struct Pending {
        var code: String
        var wanted: DeviceID?
        var expires: ContinuousClock.Instant
        var issued: Issued?
    }

    /// What an approved screen collects.
    struct Issued {
        var token: String
        var id: String
        var device: DeviceID
        var kind: DeviceKind
    }

    enum Refusal: Error {
        case tooManyFromAddress(Duration)
        case tooManyPending
    }

    /// Starts a pairing for a screen at `address` that asks for `wanted` (a hint for staff): its secret id (the
    /// screen polls with it) and the code it shows.
    func start(address: String, wanted: DeviceID?) throws(Refusal) -> (id: String, code: String) {
        let now = ContinuousClock.now
        return try state.withLock { state throws(Refusal) in
            state.pending = state.pending.filter { $0.value.expires > now }
            state.starts = state.starts.compactMapValues { times in
                let recent = times.filter { now - $0 < .seconds(60) }
                return recent.isEmpty ? nil : recent
            }
            let recent = state.starts[address] ?? []
            if recent.count >= Self.perAddressPerMinute, let oldest = recent.first {
                throw .tooManyFromAddress(.seconds(60) - (now - oldest))
            }
            guard state.pending.count < Self.maxPending else { throw .tooManyPending }
            var code: String
            repeat {
                code = String((0..<6).map { _ in Self.alphabet.randomElement()! })
            } while state.pending.values.contains { $0.code == code }
            let id = StreamTickets.randomHex()
            state.pending[id] = Pending(code: code, wanted: wanted, expires: now + Self.lifetime)
            state.starts[address, default: []].append(now)
            return (id, code)
        }
    }

    enum Poll {
        case waiting(code: String, expiresIn: Duration)
        case approved(Issued)
    }

    /// A pairing's state; an approved one hands out its token this once and is gone. Nil: unknown or expired.
    func poll(_ id: String) -> Poll? {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let pending = state.pending[id], pending.expires > now else {
                state.pending[id] = nil
                return nil
            }
            if let issued = pending.issued {
                state.pending[id] = nil
                return .approved(issued)
            }
            return .waiting(code: pending.code, expiresIn: pending.expires - now)
        }
    }

    /// Staff typed `code`: `issue` makes the token, which waits for the screen to collect it. Nil for a code that
    /// is not waiting (unknown, expired, or approved already).
    func approve(code: String, issue: (DeviceID?) throws -> Issued) throws -> Issued? {
        let now = ContinuousClock.now
        return try state.withLock { state in
            guard let (id, pending) = state.pending.first(where: { $0.value.code == code }), pending.issued == nil,
                pending.expires > now
            else { return nil }
            let issued = try issue(pending.wanted)
            state.pending[id]?.issued = issued
            return issued
        }
    }

    /// Pairings waiting for staff, for the status page: code, the device the screen asked for, seconds left.
    func waiting() -> [(code: String, wanted: DeviceID?, expiresIn: Duration)] {
        let now = ContinuousClock.now
        return state.withLock { state in
            state.pending.values.filter { $0.issued == nil && $0.expires > now }.sorted { $0.expires < $1.expires }
                .map { ($0.code, $0.wanted, $0.expires - now) }
        }
    }

    /// A code as staff may type it ("k7m-x3q", "K7M X3Q") in the form codes are issued.
    static func normalize(_ text: String) -> String? {
        let letters = text.uppercased().unicodeScalars.filter { $0 != "-" && $0 != " " }
        guard letters.count == 6, letters.allSatisfy({ alphabet.contains(Character($0)) }) else { return nil }
        return String(String.UnicodeScalarView(letters))
    }
}

extension StreamTickets {
    /// 128 random bits as 32 hex digits.
    static func randomHex() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

/// The customer screens: their pages and files, pairing, staff's list of screens, and for mirror screens the share
/// link, deletion and the hub's own share page of a snapshot.
struct ScreenRoutes: Sendable {
    let screens: ScreenDirectory
    let pairings: ScreenPairings
    let tokens: TokenStore
    let bus: Bus
    let mirrors: (any MirrorProvider)?
    /// `http` or `https`: makes a share template's hub path absolute.
    let scheme: String
    let authorizer: RouteAuthorizer
    let logger: Logger

    /// Largest JSON body the screen routes read.
    static let screenBodyLimit = 1024

    var routes: RouteCollection<HubRequestContext> {
        let router = RouteCollection(context: HubRequestContext.self)
        let screens = self.screens
        let pairings = self.pairings
        let server = self

        // Pages and their files: no token (a screen that is not paired yet must show its code).
        router.get("/screens/:kind/:id") { _, context -> Response in
            let (device, screen) = try Self.screen(context, screens)
            return try Self.file("\(screen.kind.rawValue).html", in: screens.folder, missing: "no \(device) page")
        }
        router.get("/screens/:kind/:id/settings.json") { _, context -> Response in
            let (device, screen) = try Self.screen(context, screens)
            var settings: [String: JSONValue] = [
                "device": .string(device.rawValue), "kind": .string(screen.kind.rawValue),
                "languages": .array(screen.languages.map(JSONValue.string)),
            ]
            if screen.kind == .kiosk { settings["answerTimeoutSeconds"] = .double(screen.answerTimeoutSeconds) }
            return Response.json(.object(settings))
        }
        router.get("/assets/screens/:file") { _, context -> Response in
            try Self.file(context.parameters.get("file") ?? "", in: screens.folder, missing: "no such file")
        }
        router.get("/assets/screens/i18n/:file") { _, context -> Response in
            try Self.file(
                context.parameters.get("file") ?? "", in: screens.folder + "/i18n", missing: "no such language")
        }

        // Pairing.
        router.post("/api/v1/screens/pairings") { request, context -> Response in
            let fields = try await Self.jsonBody(request)
            var wanted: DeviceID?
            if let value = fields["device"] {
                guard let text = value.stringValue, let device = try? DeviceID(validating: text),
                    screens.devices[device] != nil
                else { throw HTTPError(.badRequest, message: "device: not a kiosk or mirror of this hub") }
                wanted = device
            }
            do throws(ScreenPairings.Refusal) {
                let (id, code) = try pairings.start(
                    address: AuthThrottle.address(context.remoteAddress), wanted: wanted)
                return Response.json(
                    .object([
                        "pairing": .string(id), "code": .string(code),
                        "expiresInSeconds": .int(ScreenPairings.lifetime.components.seconds),
                    ]))
            } catch .tooManyFromAddress(let wait) {
                throw HTTPError(
                    .tooManyRequests, headers: [.retryAfter: "\(wait.components.seconds + 1)"],
                    message: "too many pairings from this address; try again in \(wait.components.seconds + 1) s")
            } catch .tooManyPending {
                throw HTTPError(
                    .tooManyRequests, headers: [.retryAfter: "60"],
                    message: "\(ScreenPairings.maxPending) screens are waiting to be paired; try again later")
            }
        }
        router.get("/api/v1/screens/pairings/:pairing") { _, context -> Response in
            guard let id = context.parameters.get("pairing"), let state = pairings.poll(id) else {
                throw HTTPError(.notFound, message: "no such pairing (unknown or expired): start a new one")
            }
            switch state {
            case .waiting(let code, let left):
                return Response.json(
                    .object([
                        "state": .string("waiting"), "code": .string(code),
                        "expiresInSeconds": .int(left.components.seconds),
                    ]))
            case .approved(let issued):
                return Response.json(
                    .object([
                        "state": .string("approved"), "token": .string(issued.token), "id": .string(issued.id),
                        "device": .string(issued.device.rawValue), "kind": .string(issued.kind.rawValue),
                    ]))
            }
        }

        // Staff: add (approve), list and revoke screens.
        router.post("/api/v1/screens") { request, context -> Response in
            let principal = try server.authorizer.principal(request, context, roles: [.admin, .staff])
            let fields = try await Self.jsonBody(request)
            guard let code = fields["code"]?.stringValue.flatMap(ScreenPairings.normalize) else {
                throw HTTPError(.badRequest, message: "code: expected the 6 characters the screen shows")
            }
            guard let text = fields["device"]?.stringValue, let device = try? DeviceID(validating: text),
                let screen = screens.devices[device]
            else { throw HTTPError(.badRequest, message: "device: not a kiosk or mirror of this hub") }
            let issued = try pairings.approve(code: code) { _ in
                let token = try server.tokens.create(
                    role: .screen, label: "screen \(device) \(code)", device: device, deviceKind: screen.kind)
                return .init(token: token.token, id: token.id, device: device, kind: screen.kind)
            }
            guard let issued else {
                throw HTTPError(.notFound, message: "no screen is showing code \(code) (mistyped, or it expired)")
            }
            server.logger.notice("screen \(issued.id) paired with \(device) by a \(principal.description)")
            return Response.json(
                .object([
                    "id": .string(issued.id), "device": .string(device.rawValue),
                    "kind": .string(screen.kind.rawValue),
                ]))
        }
        router.get("/api/v1/screens") { request, context -> Response in
            _ = try server.authorizer.principal(request, context, roles: [.admin, .staff])
            let paired = try server.tokens.list(role: .screen).map { token -> JSONValue in
                .object([
                    "id": .string(token.id), "device": token.device.map { .string($0.rawValue) } ?? .null,
                    "kind": token.deviceKind.map { .string($0.rawValue) } ?? .null, "label": .string(token.label),
                    "created": .string(Timestamp.iso8601(token.created)),
                ])
            }
            let waiting = pairings.waiting().map { pairing -> JSONValue in
                .object([
                    "code": .string(pairing.code), "device": pairing.wanted.map { .string($0.rawValue) } ?? .null,
                    "expiresInSeconds": .int(pairing.expiresIn.components.seconds),
                ])
            }
            return Response.json(.object(["screens": .array(paired), "waiting": .array(waiting)]))
        }
        router.delete("/api/v1/screens/:id") { request, context -> Response in
            let principal = try server.authorizer.principal(request, context, roles: [.admin, .staff])
            let id = context.parameters.get("id") ?? ""
            guard try server.tokens.list(role: .screen).contains(where: { $0.id == id }),
                try server.tokens.revoke(id: id)
            else { throw HTTPError(.notFound, message: "no screen '\(id.prefix(16))'") }
            server.bus.disconnect(tokenID: id)
            server.logger.notice("screen \(id) revoked by a \(principal.description)")
            return Response.json(.object(["revoked": .string(id)]))
        }
        router.get("/api/v1/screens/self") { request, context -> Response in
            let principal = try server.authorizer.principal(request, context, roles: [.screen])
            guard let device = principal.device, let screen = screens.devices[device] else {
                throw HTTPError(.notFound, message: "this screen's device is not configured on this hub any more")
            }
            return Response.json(
                .object([
                    "device": .string(device.rawValue), "kind": .string(screen.kind.rawValue),
                    "name": .string(screen.name), "languages": .array(screen.languages.map(JSONValue.string)),
                ]))
        }
        // A kiosk's answers may carry `qr` (a receipt link, a locker code): the hub draws it, as it draws the
        // mirror's share codes, so the page needs no QR encoder of its own.
        router.post("/api/v1/screens/self/qr") { request, context -> Response in
            _ = try server.authorizer.principal(request, context, roles: [.screen])
            let fields = try await Self.jsonBody(request)
            guard fields.keys.allSatisfy({ $0 == "text" }), let text = fields["text"]?.stringValue,
                (1...QRCodeSVG.maxBytes).contains(text.utf8.count), !text.utf8.contains(0)
            else {
                throw HTTPError(
                    .badRequest, message: "text: expected 1 to \(QRCodeSVG.maxBytes) bytes of text, and no other field")
            }
            guard let svg = QRCodeSVG.svg(for: text) else {
                throw HTTPError(.badRequest, message: "text: cannot be drawn as a QR code")
            }
            return Response.json(.object(["svg": .string(svg)]))
        }
        if let mirrors { addShareRoutes(to: router, mirrors) }
        return router
    }

    /// Snapshots on the screen: the share link and its QR code, deletion, and the hub's own share page.
    private func addShareRoutes(to router: RouteCollection<HubRequestContext>, _ mirrors: any MirrorProvider) {
        let server = self
        let screens = self.screens
        let scheme = self.scheme
        router.get("/api/v1/snapshots/:file/share") { request, context -> Response in
            // Roles first, then the id's grammar, then the lookup: a token that may not share learns nothing of
            // which ids exist.
            let principal = try server.authorizer.principal(
                request, context, roles: [.admin, .staff, .service, .screen])
            // Named as GET /api/v1/snapshots/:file names it: the router needs one name per path segment.
            let id = try PathValue.hexID("file", suffix: "", of: context)
            guard let info = mirrors.snapshotInfo(id) else {
                throw HTTPError(.notFound, message: "no such snapshot (unknown, deleted or expired)")
            }
            guard MirrorRoutes.mayRead(principal, info) else {
                throw HTTPError(
                    .forbidden, message: "a \(principal.description) may share only its own mirror's pictures")
            }
            let url = screens.share.url(for: id, origin: "\(scheme)://\(request.head.authority ?? "localhost")")
            guard let svg = QRCodeSVG.svg(for: url) else {
                throw HTTPError(.internalServerError, message: "the share link could not be made into a QR code")
            }
            return Response.json(
                .object([
                    "url": .string(url), "qrSvg": .string(svg), "shade": info.shade ?? .null,
                    "expires": .string(Timestamp.iso8601(info.expires)),
                ]))
        }
        router.delete("/api/v1/snapshots/:file") { request, context -> Response in
            let principal = try server.authorizer.principal(request, context, roles: [.admin, .staff, .screen])
            // Named as GET /api/v1/snapshots/:file names it: the router needs one name per path segment.
            let id = try PathValue.hexID("file", suffix: "", of: context)
            guard let info = mirrors.snapshotInfo(id) else {
                throw HTTPError(.notFound, message: "no such snapshot (unknown, deleted or expired)")
            }
            guard principal.role != .screen || (info.device != nil && principal.device == info.device) else {
                throw HTTPError(
                    .forbidden, message: "a \(principal.description) may delete only its own mirror's pictures")
            }
            guard mirrors.deleteSnapshot(id) else { throw HTTPError(.notFound, message: "already deleted") }
            return Response.json(.object(["deleted": .string(id)]))
        }
        // The demo's sharing page: no token, the unguessable id is the permission, for as long as the picture lives.
        router.get("/share/:file") { _, context -> Response in
            let file = context.parameters.get("file") ?? ""
            let id = file.hasSuffix(".jpg") ? String(file.dropLast(4)) : file
            guard let info = mirrors.snapshotInfo(id) else {
                throw HTTPError(.notFound, message: "this picture is gone: pictures are kept only for a short time")
            }
            if file.hasSuffix(".jpg") {
                guard let jpeg = mirrors.snapshot(id) else {
                    throw HTTPError(.notFound, message: "this picture is gone")
                }
                return Response.jpeg(jpeg)
            }
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                    .contentSecurityPolicy: "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
                ], body: ResponseBody(byteBuffer: ByteBuffer(string: Self.sharePage(id: id, info: info))))
        }
    }

    /// The share page: the picture and the shade, nothing else. Every text from the catalog is escaped.
    static func sharePage(id: String, info: SnapshotInfo) -> String {
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
                .replacingOccurrences(of: "'", with: "&#39;")
        }
        let shade = info.shade
        let name = escape(shade?["name"]?.stringValue ?? "")
        let brand = escape(shade?["brand"]?.stringValue ?? "")
        let sku = escape(shade?["sku"]?.stringValue ?? "")
        let color = shade?["color"]?.stringValue.flatMap { $0.utf8.count == 7 && $0.hasPrefix("#") ? $0 : nil }
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1"><title>\(name.isEmpty ? "Your look" : name)</title>
            <style>body{margin:0;font:18px/1.4 system-ui,sans-serif;background:#faf7f5;color:#222;text-align:center}
            img{max-width:100%;display:block;margin:0 auto}.shade{padding:1em}
            .swatch{display:inline-block;width:1.2em;height:1.2em;border-radius:50%;vertical-align:middle;margin-right:.4em}</style>
            </head><body><img src="/share/\(id).jpg" alt="">
            <p class="shade"><span class="swatch" style="background:\(escape(color ?? "#ccc"))"></span>
            <strong>\(name)</strong> \(brand) <small>\(sku)</small></p></body></html>
            """
    }

    /// The device of `/screens/<kind>/<id>`, which must have a screen of that kind.
    static func screen(_ context: HubRequestContext, _ screens: ScreenDirectory) throws -> (
        DeviceID, ScreenDirectory.Screen
    ) {
        let device = try context.deviceParameter()
        guard let screen = screens.devices[device], screen.kind.rawValue == context.parameters.get("kind") else {
            throw HTTPError(
                .notFound, message: "no \(context.parameters.get("kind")?.prefix(16) ?? "") screen for \(device)")
        }
        return (device, screen)
    }

    /// A file of the screens' folder. Names are checked before any file is opened: letters, digits, `-`, `_` and
    /// one `.` before a known extension, so no path can leave the folder.
    static func file(_ name: String, in folder: String, missing: String) throws -> Response {
        let types = [
            "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
            "css": "text/css; charset=utf-8",
            "json": "application/json", "svg": "image/svg+xml", "woff2": "font/woff2",
        ]
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...64).contains(parts[0].utf8.count),
            parts[0].utf8.allSatisfy({
                $0 == 0x2d || $0 == 0x5f || (0x30...0x39).contains($0) || (0x41...0x5a).contains($0)
                    || (0x61...0x7a).contains($0)
            }),
            let type = types[String(parts[1])]
        else { throw HTTPError(.notFound, message: missing) }
        guard let data = FileManager.default.contents(atPath: folder + "/" + name) else {
            throw HTTPError(.notFound, message: missing)
        }
        var headers: HTTPFields = [.contentType: type, .cacheControl: "no-cache"]
        if type.hasPrefix("text/html") {
            headers[.contentSecurityPolicy] =
                "default-src 'self'; img-src 'self' blob: data:; connect-src 'self' ws: wss:; frame-ancestors 'none'"
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A small JSON object body; an empty body is an empty object.
    static func jsonBody(_ request: Request) async throws -> [String: JSONValue] {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: screenBodyLimit)
        } catch {
            throw HTTPError(.contentTooLarge, message: "body larger than \(screenBodyLimit) bytes")
        }
        guard buffer.readableBytes > 0 else { return [:] }
        guard case .object(let fields)? = try? JSONParser.parse(String(buffer: buffer)) else {
            throw HTTPError(.badRequest, message: "expected a JSON object as the body")
        }
        return fields
    }
}
