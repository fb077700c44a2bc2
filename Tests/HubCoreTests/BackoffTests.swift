import HubCore
import Testing

@Suite struct BackoffTests {
    @Test func delaysDoubleFromTheInitialUpToTheMaximumWithJitterInTheUpperHalf() {
        var backoff = Backoff(initial: 0.5, maximum: 4)
        for base in [0.5, 1, 2, 4, 4, 4] {
            let delay = backoff.next()
            #expect(delay >= base / 2 && delay <= base, "base \(base): \(delay)")
        }
    }

    @Test func aMaximumThatIsNotAPowerOfTwoIsTheCap() {
        var backoff = Backoff(initial: 0.5, maximum: 3)
        for base in [0.5, 1, 2, 3, 3, 3] {
            let delay = backoff.next()
            #expect(delay >= base / 2 && delay <= base, "delay \(delay) outside [\(base / 2), \(base)]")
        }
    }

    @Test func aMaximumBelowTheInitialDelayIsRaisedToIt() {
        var backoff = Backoff(initial: 2, maximum: 1)
        let delay = backoff.next()
        #expect(delay >= 1 && delay <= 2)
    }

    @Test func resetStartsAgainFromTheInitialDelay() {
        var backoff = Backoff(initial: 1, maximum: 60)
        for _ in 0..<10 { _ = backoff.next() }
        backoff.reset()
        let delay = backoff.next()
        #expect(delay >= 0.5 && delay <= 1)
    }

    @Test func jitterSpreadsTheDelays() {
        var delays = Set<Double>()
        for _ in 0..<20 {
            var backoff = Backoff(initial: 8, maximum: 8)
            delays.insert(backoff.next())
        }
        #expect(delays.count > 1)
    }
}
