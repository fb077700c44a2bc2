import Foundation
import HubCore
import StoreHubTestSupport
import Testing

@testable import Hub

/// A real AF_UNIX datagram socket that plays systemd's side of the notify protocol.
final class NotifySocket: Sendable {
    let path: String
    private let fd: Int32

    init(in folder: TemporaryFolder) throws {
        path = folder.file("notify").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    deinit { close(fd) }

    /// The environment of a service that systemd started with this socket.
    var environment: [String: String] { ["NOTIFY_SOCKET": path] }

    /// The next datagram's text, or nil when none came within `timeout`. It polls rather than blocks, so that
    /// waiting does not hold one of the few threads the tests' tasks share.
    func receive(timeout: Duration = .seconds(120)) async -> String? {
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count >= 0 { return String(decoding: buffer[..<count], as: UTF8.self) }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }
}

@Suite struct SystemdNotifierTests {
    @Test func messagesArriveAsOneDatagramEachOnTheNotifySocket() async throws {
        let folder = try TemporaryFolder("notify")
        let socket = try NotifySocket(in: folder)
        let notifier = SystemdNotifier(environment: socket.environment)
        #expect(notifier.isActive)
        #expect(notifier.send("READY=1\nSTATUS=serving"))
        #expect(notifier.send("WATCHDOG=1"))
        #expect(await socket.receive() == "READY=1\nSTATUS=serving")
        #expect(await socket.receive() == "WATCHDOG=1")
    }

    @Test func withoutNotifySocketNothingIsSent() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isActive)
        #expect(!notifier.send("READY=1"))
        #expect(notifier.watchdogInterval == nil)
    }

    @Test func theWatchdogIntervalComesFromWatchdogUsecForThisProcessOnly() {
        let ours = SystemdNotifier(environment: ["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "\(getpid())"])
        #expect(ours.watchdogInterval == .seconds(3))
        let another = SystemdNotifier(environment: ["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "\(getpid() + 1)"])
        #expect(another.watchdogInterval == nil)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "0"]).watchdogInterval == nil)
    }

    @Test func aSocketThatIsNotThereIsAFailedSendNotACrash() throws {
        let folder = try TemporaryFolder("notify")
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": folder.file("absent").path])
        #expect(!notifier.send("READY=1"))
    }
}
