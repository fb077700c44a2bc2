import Foundation
import NIOCore
import Synchronization

/// Bounds on the connections the listener holds, before any token is looked at.
package struct ConnectionLimits: Sendable, Equatable {
    /// Connections one address may hold at once, authenticated or not.
    package var perAddress: Int
    /// Connections one address may hold before they have shown a token (HTTP requests not yet authorized,
    /// WebSocket upgrades before their `auth`): a browser opens about six, a program one or two.
    package var unauthenticatedPerAddress: Int
    /// Unauthenticated connections from all addresses together, so a LAN full of addresses cannot take every file
    /// descriptor either.
    package var unauthenticatedTotal: Int
    /// Time from accept (TLS handshake included) to a complete request head; half-sent requests are cut off then.
    package var headerTimeout: Duration
    /// Time an HTTP connection may wait between requests once it has sent one.
    package var idleTimeout: Duration

    package init(
        perAddress: Int = 128, unauthenticatedPerAddress: Int = 16, unauthenticatedTotal: Int = 1024,
        headerTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(60)
    ) {
        self.perAddress = perAddress
        self.unauthenticatedPerAddress = unauthenticatedPerAddress
        self.unauthenticatedTotal = unauthenticatedTotal
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
    }
}

/// Counts the listener's connections by address and by whether they have authenticated; refuses new ones past
/// `ConnectionLimits`. Every connection starts unauthenticated and stays so until a token is accepted on it.
package final class ConnectionLimiter: Sendable {
    package let limits: ConnectionLimits

    /// Why a new connection was refused.
    package enum Refusal: Sendable, Equatable {
        case addressFull
        case unauthenticatedFromAddress
        case unauthenticatedTotal
    }

    private struct Counts {
        var open = 0
        var unauthenticated = 0
    }

    private struct Connection {
        var address: String
        var authenticated = false
        var requested = false
    }

    private struct State {
        var addresses: [String: Counts] = [:]
        var connections: [ObjectIdentifier: Connection] = [:]
        var unauthenticated = 0
    }

    // Mutex: connections are accepted, authorized and closed on every event loop thread at once.
    private let state = Mutex(State())

    package init(limits: ConnectionLimits = ConnectionLimits()) {
        self.limits = limits
    }

    /// Counts a new connection from `address`, or says why it may not be opened.
    package func admit(_ connection: ObjectIdentifier, address: String) -> Refusal? {
        state.withLock { state in
            let counts = state.addresses[address, default: Counts()]
            if counts.open >= limits.perAddress { return .addressFull }
            if counts.unauthenticated >= limits.unauthenticatedPerAddress { return .unauthenticatedFromAddress }
            if state.unauthenticated >= limits.unauthenticatedTotal { return .unauthenticatedTotal }
            state.addresses[address] = Counts(open: counts.open + 1, unauthenticated: counts.unauthenticated + 1)
            state.unauthenticated += 1
            state.connections[connection] = Connection(address: address)
            return nil
        }
    }

    /// A token was accepted on the connection: it no longer counts as unauthenticated.
    package func authenticated(_ connection: ObjectIdentifier) {
        state.withLock { state in
            guard var entry = state.connections[connection], !entry.authenticated else { return }
            entry.authenticated = true
            entry.requested = true
            state.connections[connection] = entry
            state.addresses[entry.address]?.unauthenticated -= 1
            state.unauthenticated -= 1
        }
    }

    /// The connection sent a complete request head: the header timeout no longer applies to it.
    package func requested(_ connection: ObjectIdentifier) {
        state.withLock { state in state.connections[connection]?.requested = true }
    }

    /// Whether the connection has sent a complete request head (false for one not counted here).
    package func hasRequested(_ connection: ObjectIdentifier) -> Bool {
        state.withLock { state in state.connections[connection]?.requested ?? false }
    }

    /// The connection closed.
    package func release(_ connection: ObjectIdentifier) {
        state.withLock { state in
            guard let entry = state.connections.removeValue(forKey: connection) else { return }
            var counts = state.addresses[entry.address, default: Counts()]
            counts.open -= 1
            if !entry.authenticated {
                counts.unauthenticated -= 1
                state.unauthenticated -= 1
            }
            state.addresses[entry.address] = counts.open > 0 ? counts : nil
        }
    }

    /// Connections open now and how many of them are unauthenticated, for the hub's status.
    package var counts: (open: Int, unauthenticated: Int) {
        state.withLock { state in (state.connections.count, state.unauthenticated) }
    }
}

/// The first handler of every accepted connection: refuses it past the limits, cuts it off when no complete request
/// head came within the header timeout, and gives its place back when it closes. It passes every byte on untouched.
final class ConnectionGuardHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let limiter: ConnectionLimiter
    private let connection: ObjectIdentifier
    private let admitted: Bool
    private var deadline: Scheduled<Void>?

    init(limiter: ConnectionLimiter, connection: ObjectIdentifier, admitted: Bool) {
        self.limiter = limiter
        self.connection = connection
        self.admitted = admitted
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive && admitted { armDeadline(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        // A refused connection is closed before the handlers behind this one read a byte of it.
        guard admitted else {
            context.close(promise: nil)
            return
        }
        armDeadline(context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard admitted else { return }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        if admitted { limiter.release(connection) }
        context.fireChannelInactive()
    }

    private func armDeadline(_ context: ChannelHandlerContext) {
        guard deadline == nil else { return }
        let limiter = self.limiter
        let connection = self.connection
        let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: .init(limiter.limits.headerTimeout)) {
            if !limiter.hasRequested(connection) { loopContext.value.close(promise: nil) }
        }
    }
}
