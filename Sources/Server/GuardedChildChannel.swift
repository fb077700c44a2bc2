import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// A server child channel with `ConnectionGuardHandler` in front of `base`, ahead of TLS and HTTP decoding, so
/// connection limits and the header timeout hold for handshakes and half-sent request heads too.
struct GuardedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    /// The base channel's value, and whether the limiter let the connection in.
    struct Value: ServerChildChannelValue {
        let base: Base.Value
        let admitted: Bool
        var channel: any Channel { base.channel }
    }

    let base: Base
    let limiter: ConnectionLimiter
    let refusals: RefusalLog

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let connection = ObjectIdentifier(channel)
        let address = AuthThrottle.address(channel.remoteAddress)
        let refusal = limiter.admit(connection, address: address)
        if let refusal { refusals.record(refusal, from: address, logger: logger) }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                ConnectionGuardHandler(limiter: limiter, connection: connection, admitted: refusal == nil),
                position: .first)
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }.map { Value(base: $0, admitted: refusal == nil) }
    }

    /// A refused connection is closed by its guard before a byte of it is read: there is nothing to handle.
    func handle(value: Value, logger: Logger) async {
        guard value.admitted else { return }
        await base.handle(value: value.base, logger: logger)
    }
}

/// Logs refused connections at most once per address every 10 s, with how many there were: a flood of refused
/// connections must not become a flood of log lines.
final class RefusalLog: Sendable {
    private struct Entry {
        var logged: ContinuousClock.Instant
        var unlogged = 0
    }
    // Mutex: connections are refused on every event loop thread.
    private let entries = Mutex<[String: Entry]>([:])
    static let interval: Duration = .seconds(10)

    func record(_ refusal: ConnectionLimiter.Refusal, from address: String, logger: Logger) {
        let now = ContinuousClock.now
        let count = entries.withLock { entries -> Int? in
            if entries.count > 4096 { entries = entries.filter { now - $0.value.logged < Self.interval } }
            guard var entry = entries[address], now - entry.logged < Self.interval else {
                let skipped = entries[address]?.unlogged ?? 0
                entries[address] = Entry(logged: now)
                return skipped + 1
            }
            entry.unlogged += 1
            entries[address] = entry
            return nil
        }
        if let count {
            logger.notice("connection from \(address) refused (\(refusal)); \(count) refused since the last report")
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with WebSocket upgrade, inside TLS when `tls` is set, every connection counted by `limiter`.
    static func guardedHTTP1WebSocketUpgrade(
        limiter: ConnectionLimiter, tls: TLSConfiguration?, configuration: HTTP1WebSocketUpgradeChannel.Configuration,
        shouldUpgrade:
            @escaping @Sendable (HTTPRequest, any Channel, Logger) async throws -> ShouldUpgradeResult<
                WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>
            >
    ) -> HTTPServerBuilder {
        let refusals = RefusalLog()
        return HTTPServerBuilder { responder in
            let http = HTTP1WebSocketUpgradeChannel(
                responder: responder, configuration: configuration, shouldUpgrade: shouldUpgrade)
            guard let tls else { return GuardedChildChannel(base: http, limiter: limiter, refusals: refusals) }
            return GuardedChildChannel(
                base: try TLSChannel(http, tlsConfiguration: tls), limiter: limiter, refusals: refusals)
        }
    }
}

/// Marks every request that reaches the router on its connection's count, so the header timeout stops applying.
struct ConnectionRequestMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext
    let limiter: ConnectionLimiter

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        limiter.requested(context.connection)
        return try await next(request, context)
    }
}

/// Headers every response carries: no page of the hub may be framed by another site (clickjacking of the status
/// page's restart and dead-letter buttons), and no response is sniffed as another type.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext

    static let headers: HTTPFields = [
        .contentSecurityPolicy: "frame-ancestors 'none'", HTTPField.Name("X-Frame-Options")!: "DENY",
        .xContentTypeOptions: "nosniff",
    ]

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            var response = try await next(request, context)
            response.headers.append(contentsOf: Self.headers)
            return response
        } catch let error as any HTTPResponseError {
            var response = try error.response(from: request, context: context)
            response.headers.append(contentsOf: Self.headers)
            return response
        }
    }
}
