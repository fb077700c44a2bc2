import Bus
import EventLog
import Foundation
import HTTPTypes
import HubCore
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOSSL
import NIOWebSocket
import Synchronization

/// What the server shows about devices; the hub's supervisor provides it.
public protocol DeviceStatusProvider: Sendable {
    func deviceSummaries() -> [DeviceSummary]
    /// A camera's latest thumbnail (JPEG), or nil.
    func preview(_ device: DeviceID) -> [UInt8]?
    /// The camera's next frame as a full-size JPEG, or nil when none came within `timeout`.
    func snapshot(_ device: DeviceID, timeout: Duration) async -> [UInt8]?
    /// Asks the device's pipeline to close and reopen it; false for an unknown device.
    func requestRestart(_ device: DeviceID) -> Bool
}

extension DeviceStatusProvider {
    public func preview(_ device: DeviceID) -> [UInt8]? { nil }
    public func snapshot(_ device: DeviceID, timeout: Duration) async -> [UInt8]? { nil }
    public func requestRestart(_ device: DeviceID) -> Bool { false }
}

/// The hub's HTTP and WebSocket transport: REST API, the bus endpoint and the status page.
///
/// It only moves bytes between sockets and the bus; it never touches a device.
public struct HubServer: Sendable {
    public var listen: HubConfig.Listen
    public var bus: Bus
    public var tokens: TokenStore
    public var devices: any DeviceStatusProvider
    /// Folder of the status page, or nil.
    public var statusPage: String?
    /// The Prometheus text for GET /metrics, or nil for no such route.
    public var metrics: (@Sendable () -> String)?
    /// TLS for the listener, or nil for plain HTTP.
    public var tls: TLSConfiguration?
    /// The webhook sinks' state for GET /api/v1/sinks, or nil for no such route.
    public var sinks: (@Sendable () -> JSONValue)?
    /// Sends a sink's dead letters again (`resend` true) or deletes them: how many there were, nil for no such sink.
    public var deadLetters: (@Sendable (_ sink: String, _ resend: Bool) throws -> Int?)?
    /// The MQTT uplink's health for GET /api/v1/hub, or nil when the hub has no uplink.
    public var uplinkStatus: (@Sendable () -> JSONValue)?
    public var logger: Logger
    /// The try-on mirrors' streams, snapshots and shades, or nil when the hub has none.
    public var mirrors: (any MirrorProvider)?
    /// Refused tokens by address, shared by REST and the bus.
    public let throttle = AuthThrottle()
    let tickets = StreamTickets()
    let started = Date()

    /// How long a connection may stay unauthenticated.
    public static let authTimeout: Duration = .seconds(5)
    /// How long a connection that was told to close may take to read it before the hub cuts it off.
    public static let closeGrace: Duration = .seconds(10)
    public static let busPath = "/api/v1/bus"

    public init(
        listen: HubConfig.Listen, bus: Bus, tokens: TokenStore, devices: any DeviceStatusProvider, statusPage: String?,
        metrics: (@Sendable () -> String)? = nil, mirrors: (any MirrorProvider)? = nil, logger: Logger
    ) {
        self.metrics = metrics
        self.mirrors = mirrors
        self.listen = listen
        self.bus = bus
        self.tokens = tokens
        self.devices = devices
        self.statusPage = statusPage
        self.logger = logger
    }

    /// The Hummingbird application; run it as a service. `onListening` gets the bound port.
    public func makeApplication(onListening: @escaping @Sendable (Int) async -> Void) throws -> some ApplicationProtocol
    {
        let router = Router(context: HubRequestContext.self)
        addRoutes(to: router)
        if let statusPage {
            router.middlewares.add(FileMiddleware(statusPage, searchForIndexHtml: true, logger: logger))
        }
        let bus = self.bus
        let tokens = self.tokens
        let logger = self.logger
        let maxMessage = bus.settings.maxMessageBytes
        let allowedOrigins = listen.allowedOrigins
        let throttle = self.throttle
        return Application(
            router: router,
            server: try .http1WebSocketUpgrade(
                tls: tls,
                configuration: .init(
                    ws: .init(
                        maxFrameSize: maxMessage,
                        autoPing: .enabled(timePeriod: .milliseconds(Int64(bus.settings.pingIntervalSeconds * 1000))),
                        closeTimeout: .seconds(2), validateUTF8: true))
            ) { request, channel, _ in
                guard request.path?.split(separator: "?").first.map(String.init) == Self.busPath else {
                    return .dontUpgrade
                }
                if bus.settings.conformanceEcho, let token = Self.echoToken(request.path),
                    tokens.authenticate(token: token)?.role == .admin
                {
                    return .upgrade([:]) { inbound, outbound, _ in
                        try await Self.echo(
                            inbound: inbound, outbound: outbound, maxMessage: maxMessage, logger: logger)
                    }
                }
                // A bad header token still upgrades, so the client learns why it is refused (error, close 4401):
                // the WebSocket stack can only answer a refused upgrade with a bare 400.
                var principal: Principal?
                var refused = false
                let address = AuthThrottle.address(channel.remoteAddress)
                let wait = throttle.blocked(address)
                if wait == nil, let header = request.headerFields[.authorization] {
                    principal = Self.bearer(header).flatMap(tokens.authenticate)
                    refused = principal == nil
                    if refused { throttle.recordFailure(address) }
                }
                let peer = channel.remoteAddress?.description ?? "unknown"
                let authenticated = principal
                let refuse = refused
                let foreignOrigin = request.headerFields[.origin].flatMap { origin in
                    Self.originAllowed(origin, host: request.authority, allowed: allowedOrigins) ? nil : origin
                }
                return .upgrade([:]) { inbound, outbound, _ in
                    let session = bus.openSession(
                        principal: foreignOrigin == nil && wait == nil ? authenticated : nil, peer: peer,
                        onRefusedToken: { throttle.recordFailure(address) })
                    if let wait {
                        session.refuseAuthentication(
                            "too many refused tokens from this address; try again in \(wait.components.seconds + 1) s")
                    } else if let foreignOrigin {
                        logger.warning("bus connection from \(peer) refused: a page from \(foreignOrigin) opened it")
                        session.refuseOrigin(
                            "pages from \(foreignOrigin) may not use this bus; add the origin to listen.allowedOrigins")
                    } else if refuse {
                        session.refuseAuthentication("token not accepted")
                    }
                    try await Self.serve(
                        session, writer: BusChannelWriter(channel: channel, session: session), inbound: inbound,
                        outbound: outbound, maxMessage: maxMessage, logger: logger,
                        abort: { channel.close(promise: nil) })
                }
            },
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "StoreHub"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    /// Browsers send Origin on WebSocket upgrades; programs usually do not. A page may use the bus when it comes
    /// from the hub itself (the status page) or from a configured origin.
    /// Some WebSocket libraries send their own URL's scheme and host (`ws://...`) as Origin; a browser always
    /// sends the page's web origin, so those are programs, not pages.
    static func originAllowed(_ origin: String, host: String?, allowed: [String]) -> Bool {
        if allowed.contains(origin) || origin.hasPrefix("ws://") || origin.hasPrefix("wss://") { return true }
        guard let host, !host.isEmpty else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }

    static func bearer(_ header: String) -> String? {
        guard header.hasPrefix("Bearer ") else { return nil }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    /// Runs one WebSocket connection: reads client messages into the session, writes what it queues.
    ///
    /// Returns as soon as either side is done: the client closed, or the session asked to close (a refused
    /// token, shutdown). A client that never answers the close frame cannot hold the hub open.
    static func serve(
        _ session: BusSession, writer: BusChannelWriter, inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter, maxMessage: Int, logger: Logger, abort: @escaping @Sendable () -> Void
    ) async throws {
        defer {
            writer.stop()
            session.close()
        }
        writer.start()
        // What ended the client's messages, given back to the WebSocket stack so that it closes with the matching
        // code (1007 for text that is not UTF-8, 1009 too large, 1002 a protocol error).
        let failure = FailureBox()
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                // Messages go out through `writer`; only the close handshake goes through the WebSocket stack.
                for await close in writer.closes {
                    do {
                        try await outbound.close(.init(codeNumber: Int(close.code)), reason: close.reason)
                    } catch {
                        logger.debug("bus connection to \(session.peer) could not send its close: \(error)")
                    }
                    break
                }
                return true
            }
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: maxMessage) {
                        switch message {
                        case .text(let text): session.receive(text)
                        case .binary: session.receiveBinary()
                        }
                    }
                } catch {
                    logger.debug("bus connection from \(session.peer) ended: \(error)")
                    failure.error.withLock { $0 = error }
                }
                return true
            }
            group.addTask {
                do {
                    try await Task.sleep(for: authTimeout)
                } catch {
                    return false
                }
                if session.principal == nil {
                    session.refuseAuthentication("no auth message within \(authTimeout)")
                }
                return false
            }
            // A client that was told to close but does not read (a stalled reader) is cut off after `closeGrace`,
            // so what the hub holds for it is freed.
            group.addTask {
                while !Task.isCancelled {
                    if let asked = session.closeRequested, ContinuousClock.now - asked > closeGrace {
                        logger.notice("bus connection to \(session.peer) cut off: it did not read its close")
                        abort()
                        return false
                    }
                    do {
                        try await Task.sleep(for: .milliseconds(500))
                    } catch {
                        return false
                    }
                }
                return false
            }
            while let finished = await group.next() {
                if finished { break }
            }
            group.cancelAll()
        }
        if let error = failure.error.withLock({ $0 }) { throw error }
    }

    /// The token of `?echo=<token>` on the bus path, if any.
    static func echoToken(_ path: String?) -> String? {
        guard let query = path?.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in query.split(separator: "&") where pair.hasPrefix("echo=") {
            return String(pair.dropFirst(5))
        }
        return nil
    }

    /// Conformance testing only (`bus.conformanceEcho`): sends every message back as it came. It runs on the bus
    /// endpoint's own WebSocket configuration (frame size limit, keepalive, close handshake, UTF-8 checks), so
    /// the conformance suite tests what bus clients talk to.
    static func echo(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, maxMessage: Int, logger: Logger
    ) async throws {
        for try await message in inbound.messages(maxSize: maxMessage) {
            switch message {
            case .text(let text): try await outbound.write(.text(text))
            case .binary(let buffer): try await outbound.write(.binary(buffer))
            }
        }
    }

    // MARK: REST

    private func addRoutes(to router: Router<HubRequestContext>) {
        addMirrorRoutes(to: router)
        addEventRoutes(to: router)
        addInsightRoutes(to: router)
        let server = self
        router.get("/healthz") { _, _ -> Response in
            let (_, last) = server.bus.log.sequenceBounds
            return Self.json(
                .object([
                    "status": .string("ok"), "version": .string(StoreHubVersion.current),
                    "uptimeSeconds": .int(Int64(Date().timeIntervalSince(server.started))),
                    "lastSequence": .int(Int64(last)), "connections": .int(Int64(server.bus.sessionCount)),
                ]))
        }
        router.get("/api/v1/devices/:id/preview.jpg") { request, context -> Response in
            _ = try server.authorize(request, context, roles: [.staff, .admin])
            let device = try Self.device(context)
            guard let jpeg = server.devices.preview(device) else {
                throw HTTPError(.notFound, message: "no picture from \(device) yet (not a camera, or no frame so far)")
            }
            return Self.jpeg(jpeg)
        }
        router.post("/api/v1/devices/:id/snapshot") { request, context -> Response in
            _ = try server.authorize(request, context, roles: [.staff, .admin])
            let device = try Self.device(context)
            guard let jpeg = await server.devices.snapshot(device, timeout: .seconds(5)) else {
                throw HTTPError(
                    .serviceUnavailable, message: "\(device) delivered no frame within 5 s (not a camera, or offline)")
            }
            return Self.jpeg(jpeg)
        }
        router.post("/api/v1/devices/:id/restart") { request, context -> Response in
            let principal = try server.authorize(request, context, roles: [.staff, .admin])
            let device = try Self.device(context)
            guard server.devices.requestRestart(device) else {
                throw HTTPError(.notFound, message: "no device \(device)")
            }
            server.logger.notice("device \(device): restart requested by a \(principal.description)")
            return Self.json(.object(["restarting": .string(device.rawValue)]))
        }
        router.get("/api/v1/hub") { request, context -> Response in
            _ = try server.authorize(request, context, roles: [.admin, .staff, .service])
            let log = server.bus.log
            let (first, last) = log.sequenceBounds
            let consumers = log.consumers().sorted { $0.key < $1.key }.map { name, acked -> JSONValue in
                .object([
                    "name": .string(name), "acked": .int(Int64(acked)),
                    "behind": .int(Int64(last > acked ? last - acked : 0)),
                ])
            }
            return Self.json(
                .object([
                    "uplink": server.uplinkStatus?() ?? .null,
                    "version": .string(StoreHubVersion.current),
                    "uptimeSeconds": .int(Int64(Date().timeIntervalSince(server.started))),
                    "lastSequence": .int(Int64(last)),
                    "retainedEvents": .int(Int64(last >= first ? last - first + 1 : 0)),
                    "logBytes": .int(Int64(log.sizeOnDisk)), "connections": .int(Int64(server.bus.sessionCount)),
                    "consumers": .array(consumers),
                ]))
        }
        router.get(RouterPath(Self.busPath)) { request, context -> Response in
            _ = try server.authorize(request, context)
            throw HTTPError(.badRequest, message: "this is the WebSocket bus: connect with a WebSocket client")
        }
        router.get("/api/v1/devices") { request, context -> Response in
            _ = try server.authorize(request, context, roles: [.admin, .staff, .service])
            let summaries = server.devices.deviceSummaries()
            var rows: [JSONValue] = []
            for summary in summaries {
                guard case .object(var row) = try JSONValue.encoding(summary.status) else { continue }
                row["id"] = .string(summary.status.device.rawValue)
                row["lastScan"] = try summary.lastScan.map { try JSONValue.encoding($0) } ?? .null
                rows.append(.object(row))
            }
            return Self.json(.object(["devices": .array(rows)]))
        }
        router.get("/api/v1/events") { request, context -> Response in
            let principal = try server.authorize(request, context)
            let query = request.uri.queryParameters
            let topic = query.get("topic") ?? ">"
            let pattern: TopicPattern
            do {
                pattern = try TopicPattern(validating: topic)
            } catch {
                throw HTTPError(.badRequest, message: "topic: \(error)")
            }
            guard principal.maySubscribe(pattern) else {
                throw HTTPError(.forbidden, message: "a \(principal.description) may not read '\(topic)'")
            }
            guard let after = Self.number(query.get("after"), default: 0),
                let limit = Self.number(query.get("limit"), default: 100), (1...1000).contains(limit)
            else {
                throw HTTPError(.badRequest, message: "after and limit must be whole numbers; limit 1 to 1000")
            }
            let (events, scanned) = try server.bus.log.read(after: after, matching: pattern, limit: Int(limit))
            var body = Array(#"{"events":["#.utf8)
            for (index, event) in events.enumerated() {
                if index > 0 { body.append(UInt8(ascii: ",")) }
                event.appendJSON(to: &body)
            }
            body.append(contentsOf: #"],"next":\#(events.last?.sequence ?? scanned)}"#.utf8)
            return Self.json(bytes: body)
        }
        if let sinks {
            router.get("/api/v1/sinks") { request, context -> Response in
                _ = try server.authorize(request, context, roles: [.admin, .staff])
                return Self.json(sinks())
            }
        }
        if let deadLetters {
            // Staff may have them sent again once the service is fixed; only an admin may throw them away.
            router.post("/api/v1/sinks/:name/dead-letters/resend") { request, context -> Response in
                let principal = try server.authorize(request, context, roles: [.admin, .staff])
                let name = context.parameters.get("name") ?? ""
                guard let count = try deadLetters(name, true) else {
                    throw HTTPError(.notFound, message: "no sink named '\(name.prefix(64))'")
                }
                server.logger.notice(
                    "sink \(name): \(count) dead letters to send again, asked by a \(principal.description)")
                return Self.json(.object(["sink": .string(name), "resending": .int(Int64(count))]))
            }
            router.delete("/api/v1/sinks/:name/dead-letters") { request, context -> Response in
                _ = try server.authorize(request, context, roles: [.admin])
                let name = context.parameters.get("name") ?? ""
                guard let count = try deadLetters(name, false) else {
                    throw HTTPError(.notFound, message: "no sink named '\(name.prefix(64))'")
                }
                return Self.json(.object(["sink": .string(name), "deleted": .int(Int64(count))]))
            }
        }
        if let metrics {
            // Any role may read it: Prometheus scrapes with a service token (bearer_token in its scrape config).
            router.get("/metrics") { request, context -> Response in
                _ = try server.authorize(request, context, roles: [.admin, .staff, .service])
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: metrics())))
            }
        }
        if statusPage == nil {
            router.get("/") { _, _ -> Response in
                throw HTTPError(.notFound, message: "no status page configured (set statusPage in the hub config)")
            }
        }
    }

    /// Like `authorize(_:)`, and the token's role must be one of `roles`.
    func authorize(_ request: Request, _ context: HubRequestContext, roles: Set<Role>) throws -> Principal {
        let principal = try authorize(request, context)
        guard roles.contains(principal.role) else {
            throw HTTPError(.forbidden, message: "a \(principal.description) may not do this")
        }
        return principal
    }

    static func device(_ context: HubRequestContext) throws -> DeviceID {
        guard let text = context.parameters.get("id"), let device = try? DeviceID(validating: text) else {
            throw HTTPError(.badRequest, message: "not a device id")
        }
        return device
    }

    static func jpeg(_ bytes: [UInt8]) -> Response {
        Response(
            status: .ok, headers: [.contentType: "image/jpeg", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The token's principal. Refusals count against the peer's address; an address with too many is refused
    /// outright for a while (429), so tokens cannot be guessed at speed.
    func authorize(_ request: Request, _ context: HubRequestContext) throws -> Principal {
        let address = AuthThrottle.address(context.remoteAddress)
        if let wait = throttle.blocked(address) {
            throw HTTPError(
                .tooManyRequests, headers: [.retryAfter: "\(wait.components.seconds + 1)"],
                message: "too many refused tokens from this address; try again in \(wait.components.seconds + 1) s")
        }
        guard let header = request.headers[.authorization] else {
            throw HTTPError(.unauthorized, message: "missing Authorization: Bearer <token> header")
        }
        guard let token = Self.bearer(header), let principal = tokens.authenticate(token: token) else {
            throttle.recordFailure(address)
            throw HTTPError(.unauthorized, message: "token not accepted")
        }
        return principal
    }

    private static func number(_ text: String?, default value: UInt64) -> UInt64? {
        guard let text else { return value }
        return UInt64(text)
    }

    static func json(_ value: JSONValue) -> Response {
        json(bytes: value.jsonBytes)
    }

    static func json(bytes: [UInt8]) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// The error that ended a connection's inbound messages, handed from the reading task to `serve`.
private final class FailureBox: Sendable {
    let error = Mutex<(any Error)?>(nil)
}
