import Foundation
import HubCore
import Testing

@Suite struct PathWatcherTests {
    @Test func returnsWhenAPathAppearsInFoldersThatDidNotExistYet() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("watch-\(UUID())")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let target = root.appendingPathComponent("v4l/by-id/usb-camera-video-index0")
        let creator = Task {
            try await Task.sleep(for: .milliseconds(150))
            try FileManager.default.createDirectory(
                at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data().write(to: target)
        }
        let outcome = await PathWatcher.waitUntilExists(target.path, timeout: .seconds(20))
        try await creator.value
        #expect(outcome == .appeared)
    }

    @Test func timesOutWhenNothingAppears() async {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("watch-\(UUID())/never").path
        #expect(await PathWatcher.waitUntilExists(missing, timeout: .milliseconds(100)) == .timedOut)
    }

    @Test func existingPathIsThereAtOnce() async {
        #expect(await PathWatcher.waitUntilExists("/", timeout: .seconds(1)) == .appeared)
    }
}
