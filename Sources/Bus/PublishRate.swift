import Foundation
import Synchronization

/// Publish rate per token: a token bucket for each token, shared by all of the token's connections.
///
/// A bucket holds up to `burst` publishes and refills at `rate` per second; a publish takes one. An empty bucket
/// refuses and says how long until the next publish would be let through.
public final class PublishRate: Sendable {
    public let rate: Double
    public let burst: Double
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(burst)
    }

    /// Takes one publish from `key`'s bucket: nil when allowed, else the wait until one would be.
    public func take(_ key: String, now: ContinuousClock.Instant = .now) -> Duration? {
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
            guard bucket.tokens >= 1 else {
                return .milliseconds(Int64(((1 - bucket.tokens) / rate * 1000).rounded(.up)))
            }
            bucket.tokens -= 1
            return nil
        }
    }
}
