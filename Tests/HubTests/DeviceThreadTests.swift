import Foundation
import Synchronization
import Testing

@testable import Hub

/// How many busy devices were never released (shared with their tasks).
private final class TimeOuts: Sendable {
    let count = Atomic<Int>(0)
}

/// Set once the busy devices may stop.
private final class Released: Sendable {
    let flag = Atomic<Bool>(false)
}

struct DeviceThreadTests {
    @Test func workPreferringADeviceThreadRunsOnThatThreadAlsoAfterAnAwait() async throws {
        let thread = DeviceThread()
        defer { thread.stop() }
        #expect(!thread.isCurrent)
        let seen = try await withTaskExecutorPreference(thread) {
            let before = thread.isCurrent
            try await Task.sleep(for: .milliseconds(20))
            return [before, thread.isCurrent]
        }
        #expect(seen == [true, true])
    }

    /// More devices than CPUs, each computing without a break (spinning until released: a blocked thread would let
    /// the pool add threads, a computing one does not): the pool must still run other tasks, as the HTTP server
    /// and the bus are.
    @Test func devicesBusyOnTheirThreadsLeaveThePoolFreeForOtherTasks() async throws {
        let count = ProcessInfo.processInfo.activeProcessorCount + 1
        let release = Released()
        let timeOuts = TimeOuts()
        let threads = (0..<count).map { _ in DeviceThread() }
        defer { threads.forEach { $0.stop() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for thread in threads {
                group.addTask {
                    await withTaskExecutorPreference(thread) {
                        // Released by a task on the pool below, or after 5 s if that task never got a thread.
                        let deadline = ContinuousClock.now + .seconds(5)
                        while !release.flag.load(ordering: .acquiring) {
                            if ContinuousClock.now > deadline {
                                timeOuts.count.add(1, ordering: .relaxed)
                                break
                            }
                        }
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(100))
                release.flag.store(true, ordering: .releasing)
            }
            try await group.waitForAll()
        }
        let timedOut = timeOuts.count.load(ordering: .relaxed)
        #expect(timedOut == 0, "\(timedOut) of \(count) busy devices were never released: the pool was held")
    }
}
