import Bus
import Config
import EventLog
import Foundation
import HTTPTypes
import HubCore
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOSSL
import NIOWebSocket
import Synchronization

/// The hub's HTTP and WebSocket transport: REST API, the bus endpoint and the status page.
///
/// It only moves bytes between sockets and the bus; it never touches a device.
package struct HubServer: Sendable {
    package var listen: HubConfig.Listen
    package var bus: Bus
    package var tokens: TokenStore
    package var devices: any DeviceStatusProvider
    /// Folder of the status page, or nil.
    package var statusPage: String?
    /// The measurements for GET /metrics, or nil for no such route.
    package var metrics: (any MetricsProvider)?
    /// TLS for the listener, or nil for plain HTTP.
    package var tls: TLSConfiguration?
    /// The webhook sinks for /api/v1/sinks, or nil for no such routes.
    package var sinks: (any SinkProvider)?
    /// The MQTT uplink's health for GET /api/v1/hub, or nil when the hub has no uplink.
    package var uplink: (any UplinkStatusProvider)?
    package var logger: Logger
    /// The try-on mirrors' streams, snapshots and shades, or nil when the hub has none.
    package var mirrors: (any MirrorProvider)?
    /// Refused tokens by address, shared by REST and the bus.
    package let throttle = AuthThrottle()
    /// Connections by address, authenticated or not; refuses new ones past its limits.
    package let connections = ConnectionLimiter()
    /// The customer screens (kiosks' and mirrors' displays), or nil when the hub serves none.
    package var screens: ScreenDirectory?
    let pairings = ScreenPairings()
    let tickets = StreamTickets()
    let started = Date()

    /// How long a connection may stay unauthenticated.
    package static let authTimeout: Duration = .seconds(5)
    /// How long a connection that was told to close may take to read it before the hub cuts it off.
    package static let closeGrace: Duration = .seconds(10)
    package static let busPath = "/api/v1/bus"

    package init(
        listen: HubConfig.Listen, bus: Bus, tokens: TokenStore, devices: any DeviceStatusProvider, statusPage: String?,
        metrics: (any MetricsProvider)? = nil, mirrors: (any MirrorProvider)? = nil, logger: Logger
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
    package func makeApplication(onListening: @escaping @Sendable (Int) async -> Void) throws
        -> some ApplicationProtocol
    {
        let router = makeRouter()
        let bus = self.bus
        let tokens = self.tokens
        let logger = self.logger
        let maxMessage = bus.settings.maxMessageBytes
        let allowedOrigins = listen.allowedOrigins
        let throttle = self.throttle
        let connections = self.connections
        return Application(
            router: router,
            server: .guardedHTTP1WebSocketUpgrade(
                limiter: connections, tls: tls,
                configuration: .init(
                    http1: .init(idleTimeout: .init(connections.limits.idleTimeout)),
                    ws: .init(
                        maxFrameSize: maxMessage,
                        autoPing: .enabled(timePeriod: .milliseconds(Int64(bus.settings.pingIntervalSeconds * 1000))),
                        closeTimeout: .seconds(2), validateUTF8: true))
            ) { request, channel, _ in
                guard request.path?.split(separator: "?").first.map(String.init) == Self.busPath else {
                    return .dontUpgrade
                }
                let connection = ObjectIdentifier(channel)
                connections.requested(connection)
                if bus.settings.conformanceEcho, let token = Self.echoToken(request.path),
                    tokens.authenticate(token: token)?.role == .admin
                {
                    connections.authenticated(connection)
                    return .upgrade([:]) { inbound, outbound, _ in
                        try await Self.echo(
                            inbound: inbound, outbound: outbound, maxMessage: maxMessage, logger: logger)
                    }
                }
                // A bad header token still upgrades, so the client learns why it is refused (error, close 4401):
                // the WebSocket stack can only answer a refused upgrade with a bare 400. A good token is taken even
                // from an address that guessed too often: the throttle slows guesses, never the token's holder.
                var principal: Principal?
                var refused = false
                var wait: Duration?
                let address = AuthThrottle.address(channel.remoteAddress)
                if let header = request.headerFields[.authorization] {
                    principal = RouteAuthorizer.bearerToken(header).flatMap(tokens.authenticate)
                    refused = principal == nil
                    if refused {
                        wait = throttle.blocked(address)
                        throttle.recordFailure(address)
                    }
                }
                let peer = channel.remoteAddress?.description ?? "unknown"
                let authenticated = principal
                let refuse = refused
                let throttled = wait
                let foreignOrigin = request.headerFields[.origin].flatMap { origin in
                    Self.originAllowed(origin, host: request.authority, allowed: allowedOrigins) ? nil : origin
                }
                return .upgrade([:]) { inbound, outbound, _ in
                    let session = bus.openSession(
                        principal: foreignOrigin == nil ? authenticated : nil, peer: peer,
                        onRefusedToken: { throttle.recordFailure(address) })
                    if let wait = throttled {
                        session.refuseAuthentication(
                            "too many refused tokens from this address; try again in \(wait.components.seconds + 1) s")
                    } else if let foreignOrigin {
                        logger.warning("bus connection from \(peer) refused: a page from \(foreignOrigin) opened it")
                        session.refuseOrigin(
                            "pages from \(foreignOrigin) may not use this bus; add the origin to listen.allowedOrigins")
                    } else if refuse {
                        session.refuseAuthentication("token not accepted")
                    }
                    try await withTaskExecutorPreference(EventLoopTaskExecutor(channel.eventLoop)) {
                        try await Self.serve(
                            session, writer: BusChannelWriter(channel: channel, session: session), inbound: inbound,
                            outbound: outbound, maxMessage: maxMessage, logger: logger,
                            onAuthenticated: { connections.authenticated(connection) },
                            abort: { channel.close(promise: nil) })
                    }
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

    /// Runs one WebSocket connection: reads client messages into the session, writes what it queues.
    ///
    /// Returns as soon as either side is done: the client closed, or the session asked to close (a refused
    /// token, shutdown). A client that never answers the close frame cannot hold the hub open.
    static func serve(
        _ session: BusSession, writer: BusChannelWriter, inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter, maxMessage: Int, logger: Logger,
        onAuthenticated: @escaping @Sendable () -> Void = {}, abort: @escaping @Sendable () -> Void
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
                // Once the close is sent the client's messages are still read, until its own close ends them (or
                // `closeGrace` cuts it off): a connection closed with the client's bytes unread is reset, and a
                // reset can lose what the client had not read yet, such as the error that says why it was closed.
                for await close in writer.closes {
                    do {
                        try await outbound.close(.init(codeNumber: Int(close.code)), reason: close.reason)
                    } catch {
                        logger.debug("bus connection to \(session.peer) could not send its close: \(error)")
                        return true
                    }
                    return false
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
            // Until the client authenticates (then its connection stops counting as unauthenticated) or its time is up.
            group.addTask {
                let deadline = ContinuousClock.now + authTimeout
                while session.principal == nil && ContinuousClock.now < deadline {
                    do {
                        try await Task.sleep(for: min(.milliseconds(250), deadline - ContinuousClock.now))
                    } catch {
                        return false
                    }
                }
                if session.principal == nil {
                    session.refuseAuthentication("no auth message within \(authTimeout)")
                } else {
                    onAuthenticated()
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

    /// The REST routes, one collection per concern, and the status page.
    package func makeRouter() -> Router<HubRequestContext> {
        let router = Router(context: HubRequestContext.self)
        // Middlewares apply to the routes added after them.
        router.middlewares.add(SecurityHeadersMiddleware())
        router.middlewares.add(ConnectionRequestMiddleware(limiter: connections))
        let authorizer = RouteAuthorizer(tokens: tokens, throttle: throttle, connections: connections)
        router.addRoutes(HealthRoutes(bus: bus, started: started).routes)
        router.addRoutes(HubStatusRoutes(bus: bus, started: started, uplink: uplink, authorizer: authorizer).routes)
        router.addRoutes(
            DeviceRoutes(devices: devices, authorizer: authorizer, logger: logger).routes, atPath: "/api/v1/devices")
        router.addRoutes(EventRoutes(bus: bus, authorizer: authorizer).routes)
        router.addRoutes(InsightRoutes(bus: bus, authorizer: authorizer).routes)
        if let sinks {
            router.addRoutes(
                SinkRoutes(sinks: sinks, authorizer: authorizer, logger: logger).routes, atPath: "/api/v1/sinks")
        }
        if let metrics {
            router.addRoutes(MetricsRoutes(metrics: metrics, authorizer: authorizer).routes)
        }
        if let mirrors {
            router.addRoutes(
                MirrorRoutes(mirrors: mirrors, tickets: tickets, authorizer: authorizer, logger: logger).routes)
        }
        if let screens {
            router.addRoutes(
                ScreenRoutes(
                    screens: screens, pairings: pairings, tokens: tokens, bus: bus, mirrors: mirrors,
                    scheme: tls == nil ? "http" : "https", authorizer: authorizer, logger: logger
                ).routes)
        }
        if let statusPage {
            router.middlewares.add(FileMiddleware(statusPage, searchForIndexHtml: true, logger: logger))
        } else {
            router.get("/") { _, _ -> Response in
                throw HTTPError(.notFound, message: "no status page configured (set statusPage in the hub config)")
            }
        }
        return router
    }
}

/// The error that ended a connection's inbound messages, handed from the reading task to `serve`.
private final class FailureBox: Sendable {
    let error = Mutex<(any Error)?>(nil)
}
