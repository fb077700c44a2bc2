import Foundation
import Synchronization

/// A rate per key (a token, a connection): a token bucket for each key, shared by all of the key's connections.
///
/// A bucket holds up to `burst` units and refills at `rate` per second; an operation takes its cost (one publish,
/// or an event's bytes). A bucket without enough refuses and says how long until the operation would be let
/// through.
package final class PublishRate: Sendable {
    package let rate: Double
    package let burst: Double
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }
    private let buckets = Mutex<[String: Bucket]>([:])

    package init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(burst)
    }

    /// Takes `cost` from `key`'s bucket: nil when allowed, else the wait until it would be. A cost above `burst` is
    /// let through once the bucket is full, so it is slowed down, never refused for good.
    package func take(_ key: String, cost: Double = 1, now: ContinuousClock.Instant = .now) -> Duration? {
        buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            bucket.tokens = min(burst, bucket.tokens + max(0, seconds) * rate)
            bucket.updated = now
            defer {
                buckets[key] = bucket
                // Full buckets carry no information: forget them so a spray of tokens cannot grow the table.
                if buckets.count > 4096 { buckets = buckets.filter { $0.value.tokens < burst } }
            }
            let needed = min(cost, burst)
            guard bucket.tokens >= needed else {
                return .milliseconds(Int64(min((needed - bucket.tokens) / rate * 1000, 3.6e6).rounded(.up)))
            }
            bucket.tokens -= cost
            return nil
        }
    }
}
