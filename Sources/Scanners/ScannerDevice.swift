import CLinuxInput
import Dispatch
import Foundation
import HubCore
import Synchronization

/// Something that delivers scans: a keyboard-wedge or serial scanner.
///
/// One pipeline task pulls with `next()`; the scanner's blocking reads run on its own queue, off the
/// cooperative thread pool.
package protocol ScannerSource: Sendable {
    /// For logs and status: what this source reads.
    var description: String { get }
    /// Opens the device. Throws a ScannerError that says what is wrong and what to do.
    func open() async throws
    /// Waits for the next scan or dropped input. Throws a transient ScannerError when the device goes away.
    func next() async throws -> ScannerOutput
    /// Releases the device. `open()` may be called again later.
    func close()
    /// After a failure: waits until retrying makes sense, at most `limit`; returns early when the device appears.
    func waitForDevice(upTo limit: Duration) async throws
}

/// An open device as the read loop sees it. Used only on its ScannerDevice's queue.
protocol ScannerPort: AnyObject {
    var fd: Int32 { get }
    /// The device node, for messages.
    var path: String { get }
    /// When `idle(at:)` is due if nothing arrives; nil when no input is pending.
    var deadline: Date? { get }
    /// Reads everything available now.
    func read() throws(ScannerError) -> [AssembledInput]
    func idle(at now: Date) -> [AssembledInput]
    /// The error for a device that hung up (poll said POLLHUP or POLLERR).
    func hangUp() -> ScannerError
    func close()
}

extension ScannerPort {
    /// Reads the non-blocking device until it has nothing more, handing each chunk read into `buffer` to `take`;
    /// returns what `take` made of them.
    ///
    /// What was made before a failure is returned first; the next poll reports the failure again. End of file (a
    /// USB adapter unplugged, a closed pseudo-terminal) and the errnos in `goneErrors` are `hangUp()`.
    func readAvailable(
        into buffer: UnsafeMutableRawBufferPointer, goneErrors: [Int32],
        _ take: (UnsafeRawBufferPointer) -> [AssembledInput]
    ) throws(ScannerError) -> [AssembledInput] {
        var out: [AssembledInput] = []
        while true {
            let count: Int?
            do throws(SystemCallError) {
                count = try SystemCall.runNonBlocking("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
            } catch {
                if !out.isEmpty { return out }
                if goneErrors.contains(error.errno) { throw hangUp() }
                throw ScannerError("reading \(path) failed", cause: error.reason, isTransient: true)
            }
            guard let count else { return out }
            if count == 0 { if out.isEmpty { throw hangUp() } else { return out } }
            out += take(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }
}

/// A scanner read through a ScannerPort on a serial queue: the part keyboard-wedge and serial scanners share.
package final class ScannerDevice: ScannerSource {
    package let description: String
    private let formatter: ScanFormatter
    private let openPort: @Sendable () throws(ScannerError) -> any ScannerPort
    private let waiter: @Sendable (Duration) async throws -> Void
    private let queue: DispatchQueue
    private let active = Mutex<Session?>(nil)

    init(
        description: String, formatter: ScanFormatter,
        open: @escaping @Sendable () throws(ScannerError) -> any ScannerPort,
        waitForDevice: @escaping @Sendable (Duration) async throws -> Void
    ) {
        self.description = description
        self.formatter = formatter
        openPort = open
        waiter = waitForDevice
        queue = DispatchQueue(label: "storehub.scanner.\(description)")
    }

    package func open() async throws {
        let openPort = self.openPort
        let session = try await queue.run { () throws(ScannerError) -> Session in
            let port = try openPort()
            let wake = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
            guard wake >= 0 else {
                port.close()
                throw ScannerError(
                    "cannot create a wake-up for the read loop", cause: ScannerError.text(errno), isTransient: true)
            }
            return Session(port: port, wake: wake)
        }
        active.withLock { $0 = session }
    }

    package func next() async throws -> ScannerOutput {
        guard let session = active.withLock({ $0 }) else {
            throw ScannerError("\(description) is not open", isTransient: true)
        }
        let formatter = self.formatter
        let output = try await withTaskCancellationHandler {
            try await queue.run { () throws(ScannerError) -> ScannerOutput? in
                try session.next().map { formatter.format($0) }
            }
        } onCancel: {
            session.wakeUp()
        }
        guard let output else { throw CancellationError() }
        return output
    }

    package func close() {
        let session = active.withLock { active -> Session? in
            defer { active = nil }
            return active
        }
        guard let session else { return }
        session.wakeUp()
        queue.async { session.close() }
    }

    package func waitForDevice(upTo limit: Duration) async throws {
        try await waiter(limit)
    }
}

/// An open port, its wake-up eventfd and the input read but not yet handed out.
private final class Session: @unchecked Sendable {
    // @unchecked: port and pending are used only on the device's serial queue; wakeUp() only writes an eventfd.
    let port: any ScannerPort
    let wake: Int32
    var pending: [AssembledInput] = []

    init(port: any ScannerPort, wake: Int32) {
        self.port = port
        self.wake = wake
    }

    func wakeUp() {
        var one: UInt64 = 1
        _ = Glibc.write(wake, &one, 8)
    }

    /// The next input, or nil when woken up (cancelled or closed).
    func next() throws(ScannerError) -> AssembledInput? {
        while true {
            if !pending.isEmpty { return pending.removeFirst() }
            var timeout: Int32 = -1
            if let deadline = port.deadline {
                timeout = Int32(max(0, min(60_000, (deadline.timeIntervalSinceNow * 1000).rounded(.up))))
            }
            var fds = [
                pollfd(fd: port.fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
            ]
            let ready: Int32
            do throws(SystemCallError) {
                ready = try SystemCall.run("poll") { Glibc.poll(&fds, 2, timeout) }
            } catch {
                throw ScannerError("waiting for the scanner failed", cause: error.reason, isTransient: true)
            }
            if fds[1].revents != 0 { return nil }
            if ready == 0 {
                pending += port.idle(at: Date())
            } else if fds[0].revents & Int16(POLLIN) != 0 {
                pending += try port.read()
            } else if fds[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                throw port.hangUp()
            }
        }
    }

    func close() {
        port.close()
        Glibc.close(wake)
    }
}

/// Waits for a device by path: the inotify watch when it is missing, else the backoff delay (it exists but
/// failed to open: permissions, busy).
func waitForPath(_ path: String, upTo limit: Duration) async throws {
    if FileManager.default.fileExists(atPath: path) {
        try await Task.sleep(for: limit)
    } else {
        _ = await PathWatcher.waitUntilExists(path, timeout: limit)
        try Task.checkCancellation()
    }
}
