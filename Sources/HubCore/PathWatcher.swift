import Dispatch
import Foundation

/// Waits for a device path to appear (a camera plugged in, a udev symlink created) without polling.
///
/// Watches the deepest folder of the path that exists with inotify, moving down as folders appear, so that
/// `/dev/v4l/by-id/usb-...` is noticed even when `/dev/v4l` itself does not exist yet.
package enum PathWatcher {
    package enum Outcome: Sendable, Equatable {
        case appeared
        case timedOut
    }

    /// Returns `.appeared` as soon as `path` exists, `.timedOut` after `timeout`.
    package static func waitUntilExists(_ path: String, timeout: Duration) async -> Outcome {
        if FileManager.default.fileExists(atPath: path) { return .appeared }
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: blockingWait(path, timeout: timeout))
            }
        }
    }

    /// Returns `.appeared` as soon as an entry is created in (or moved into) `folder`, `.timedOut` after
    /// `timeout`: for devices found by what they are rather than by path (a scanner matched by vendor:product).
    package static func waitForNewEntry(in folder: String, timeout: Duration) async -> Outcome {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: blockingWaitForEntry(folder, timeout: timeout))
            }
        }
    }

    private static func blockingWaitForEntry(_ folder: String, timeout: Duration) -> Outcome {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return .timedOut }
        defer { close(fd) }
        guard inotify_add_watch(fd, folder, UInt32(IN_CREATE | IN_MOVED_TO | IN_ATTRIB)) >= 0 else {
            return .timedOut
        }
        var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return Glibc.poll(&poll, 1, milliseconds(timeout)) > 0 ? .appeared : .timedOut
    }

    private static func milliseconds(_ duration: Duration) -> Int32 {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000 + 1
        return Int32(max(0, min(Int64(Int32.max), ms)))
    }

    private static func blockingWait(_ path: String, timeout: Duration) -> Outcome {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return .timedOut }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if FileManager.default.fileExists(atPath: path) { return .appeared }
            let folder = deepestExistingFolder(of: path)
            let watch = inotify_add_watch(
                fd, folder, UInt32(IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF))
            // The path may have appeared between the check and the watch.
            if FileManager.default.fileExists(atPath: path) { return .appeared }
            let left = ContinuousClock.now.duration(to: deadline)
            if left <= .zero { return .timedOut }
            let ms = Int32(
                min(
                    Int64(Int32.max),
                    left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1))
            var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = Glibc.poll(&poll, 1, ms)
            if ready > 0 { _ = read(fd, &buffer, buffer.count) }
            if watch >= 0 { inotify_rm_watch(fd, watch) }
            if ready == 0 { return FileManager.default.fileExists(atPath: path) ? .appeared : .timedOut }
        }
    }

    private static func deepestExistingFolder(of path: String) -> String {
        var folder = (path as NSString).deletingLastPathComponent
        while !folder.isEmpty && folder != "/" && !FileManager.default.fileExists(atPath: folder) {
            folder = (folder as NSString).deletingLastPathComponent
        }
        return folder.isEmpty ? "/" : folder
    }
}
