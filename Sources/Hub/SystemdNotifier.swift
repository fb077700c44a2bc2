import Foundation

/// systemd's notify protocol: `READY=1`, `STATUS=...`, `WATCHDOG=1` and `STOPPING=1` as datagrams to the
/// socket named in NOTIFY_SOCKET. Without that variable (not started by systemd) every send does nothing.
package final class SystemdNotifier: Sendable {
    /// The socket's address, or nil when the hub does not run under systemd with Type=notify.
    let address: String?
    /// How often systemd expects WATCHDOG=1 (WatchdogSec), or nil when no watchdog is configured.
    package let watchdogInterval: Duration?
    private let fd: Int32

    package init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let address = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        self.address = address
        fd = address == nil ? -1 : socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        // WATCHDOG_PID, when set, names the process the watchdog is meant for (not a child that inherited it).
        let forThisProcess = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if forThisProcess, let microseconds = environment["WATCHDOG_USEC"].flatMap({ Int64($0) }), microseconds > 0 {
            watchdogInterval = .microseconds(microseconds)
        } else {
            watchdogInterval = nil
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Whether messages go anywhere.
    package var isActive: Bool { fd >= 0 }

    /// Sends newline-separated assignments (`READY=1\nSTATUS=...`). Returns false when the message could not be
    /// sent; systemd then treats the hub as it would a silent one, so a failure is not an error for the caller.
    @discardableResult
    package func send(_ message: String) -> Bool {
        guard fd >= 0, let address else { return false }
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        // An address starting with "@" is in the abstract namespace: its first byte is NUL on the wire.
        var path = Array(address.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard path.count < capacity else { return false }
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            raw.copyBytes(from: path)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (path.first == 0 ? 0 : 1))
        let bytes = Array(message.utf8)
        let sent = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), address, length) }
            }
        }
        return sent == bytes.count
    }
}
