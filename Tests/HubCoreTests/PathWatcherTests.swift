import Foundation
import HubCore
import StoreHubTestSupport
import Testing

@Suite struct PathWatcherTests {
    @Test func wakesWhenAPathAppearsInFoldersThatDidNotExistYetNotAtTheTimeout() async throws {
        let root = try TemporaryFolder("watch")
        let target = root.file("v4l/by-id/usb-camera-video-index0")
        let timeout: Duration = .seconds(240)
        let creator = Task { () -> ContinuousClock.Instant in
            try await Task.sleep(for: .milliseconds(150))
            let creating = ContinuousClock.now
            try FileManager.default.createDirectory(
                at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data().write(to: target)
            return creating
        }
        let outcome = await PathWatcher.waitUntilExists(target.path, timeout: timeout)
        let woke = ContinuousClock.now
        let creating = try await creator.value
        #expect(outcome == .appeared)
        // inotify wakes the watcher when the file is made, not the timeout, and not before the file exists. The
        // bound is loose: while other suites keep the test threads busy, resuming this task can take a while.
        #expect(woke >= creating)
        #expect(woke - creating < timeout / 2, "woke \(woke - creating) after the file was made")
    }

    @Test func timesOutWhenNothingAppears() async throws {
        let root = try TemporaryFolder("watch")
        let started = ContinuousClock.now
        #expect(await PathWatcher.waitUntilExists(root.file("never").path, timeout: .milliseconds(300)) == .timedOut)
        #expect(ContinuousClock.now - started >= .milliseconds(300))
    }

    @Test func existingPathIsThereAtOnce() async {
        #expect(await PathWatcher.waitUntilExists("/", timeout: .seconds(1)) == .appeared)
    }
}
