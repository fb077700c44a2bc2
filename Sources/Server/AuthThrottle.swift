import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// Slows down guessing: an address with too many refused tokens in a short time has its refused tokens answered
/// "too many" (REST 429, bus 4401 with the wait) for a while. Good tokens are never held back by it.
package final class AuthThrottle: Sendable {
    /// Refusals from one address within `window` after which it is blocked.
    package let limit: Int
    package let window: Duration
    /// Refusals by address, newest last; entries older than `window` are dropped as new ones come.
    private let failures = Mutex<[String: [ContinuousClock.Instant]]>([:])

    package init(limit: Int = 10, window: Duration = .seconds(60)) {
        self.limit = limit
        self.window = window
    }

    /// How long `address` must still wait, or nil when it may try a token.
    package func blocked(_ address: String) -> Duration? {
        let now = ContinuousClock.now
        return failures.withLock { failures in
            guard let times = failures[address]?.filter({ now - $0 < window }), times.count >= limit else { return nil }
            return window - (now - times[times.count - limit])
        }
    }

    package func recordFailure(_ address: String) {
        let now = ContinuousClock.now
        failures.withLock { failures in
            var times = failures[address, default: []].filter { now - $0 < window }
            times.append(now)
            failures[address] = Array(times.suffix(limit))
            // Bounded memory under a spray of addresses: forget the ones with no recent refusal.
            if failures.count > 4096 { failures = failures.filter { $0.value.contains { now - $0 < window } } }
        }
    }

    /// The address part of a peer (no port): every connection from one machine counts together.
    package static func address(_ peer: SocketAddress?) -> String {
        peer?.ipAddress ?? "unknown"
    }
}

/// The request context of the hub's routes: Hummingbird's, plus the peer's address for throttling.
package struct HubRequestContext: RequestContext, RemoteAddressRequestContext {
    package var coreContext: CoreRequestContextStorage
    package let remoteAddress: SocketAddress?
    /// The connection the request came on, as `ConnectionLimiter` counts it.
    package let connection: ObjectIdentifier

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        connection = ObjectIdentifier(source.channel)
    }
}
