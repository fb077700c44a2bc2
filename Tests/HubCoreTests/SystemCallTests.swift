import Foundation
import HubCore
import Synchronization
import Testing

@Suite(.serialized) struct SystemCallTests {
    /// A blocking read on a pipe, interrupted by a real signal whose handler does not ask for SA_RESTART: the
    /// kernel ends the read with EINTR, and the helper reads again until the data arrives.
    @Test func aReadInterruptedByASignalIsMadeAgainAndReturnsTheData() throws {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        var previous = sigaction()
        try #require(sigaction(SIGUSR1, &action, &previous) == 0)
        defer { sigaction(SIGUSR1, &previous, nil) }
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { for end in ends { close(end) } }
        let (readEnd, writeEnd) = (ends[0], ends[1])

        let reading = BlockedRead()
        let thread = Thread {
            // The test runner's threads may have the signal blocked; this one takes it.
            var signals = sigset_t()
            sigemptyset(&signals)
            sigaddset(&signals, SIGUSR1)
            pthread_sigmask(SIG_UNBLOCK, &signals, nil)
            reading.thread.withLock { $0 = pthread_self() }
            var byte: UInt8 = 0
            do throws(SystemCallError) {
                _ = try SystemCall.run("read") {
                    reading.attempts.add(1, ordering: .sequentiallyConsistent)
                    return read(readEnd, &byte, 1)
                }
                reading.outcome.withLock { $0 = .success(byte) }
            } catch {
                reading.outcome.withLock { $0 = .failure(error) }
            }
        }
        thread.start()

        // Signals until one has ended a read: one that arrives before the thread is inside read() interrupts nothing.
        let deadline = ContinuousClock.now + .seconds(20)
        while reading.attempts.load(ordering: .sequentiallyConsistent) < 2 && ContinuousClock.now < deadline {
            if let target = reading.thread.withLock({ $0 }) { pthread_kill(target, SIGUSR1) }
            usleep(10_000)
        }
        var byte: UInt8 = 42
        #expect(write(writeEnd, &byte, 1) == 1)
        while reading.outcome.withLock({ $0 }) == nil && ContinuousClock.now < deadline { usleep(1_000) }

        #expect(reading.attempts.load(ordering: .sequentiallyConsistent) >= 2, "no read was interrupted")
        let result = try #require(reading.outcome.withLock { $0 })
        #expect(try result.get() == 42)
    }

    @Test func aFailedCallNamesTheCallAndTheSystemsReason() {
        var byte: UInt8 = 0
        let error = #expect(throws: SystemCallError.self) {
            try SystemCall.run("read") { read(-1, &byte, 1) }
        }
        #expect(error?.call.description == "read")
        #expect(error?.errno == EBADF)
        #expect(error?.reason == String(cString: strerror(EBADF)))
        #expect(error?.description == "read failed: \(String(cString: strerror(EBADF))) (errno \(EBADF))")
    }

    @Test func aNonBlockingCallWithNothingThereGivesNilAndOneWithDataItsResult() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { for end in ends { close(end) } }
        try #require(fcntl(ends[0], F_SETFL, O_NONBLOCK) == 0)
        var byte: UInt8 = 0
        #expect(try SystemCall.runNonBlocking("read") { read(ends[0], &byte, 1) } == nil)
        var sent: UInt8 = 7
        #expect(write(ends[1], &sent, 1) == 1)
        #expect(try SystemCall.runNonBlocking("read") { read(ends[0], &byte, 1) } == 1)
        #expect(byte == 7)
    }
}

/// What the test and its reading thread share.
private final class BlockedRead: Sendable {
    let thread = Mutex<pthread_t?>(nil)
    /// Calls of read(2) the helper made.
    let attempts = Atomic<Int>(0)
    let outcome = Mutex<Result<UInt8, SystemCallError>?>(nil)
}
