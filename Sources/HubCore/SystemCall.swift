import Foundation

/// A system call that failed: which call, and the errno it left.
///
/// Device code maps it to its own error (a camera's, a scanner's), which says what staff can do; this one keeps
/// the system's words for the log and the tests.
package struct SystemCallError: Error, Sendable, CustomStringConvertible {
    /// The call as its man page names it: `read`, `poll`, `tcsetattr`, `v4l2_ioctl`.
    package var call: StaticString
    package var errno: Int32

    package init(call: StaticString, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// The system's text for `errno` ("No such device").
    package var reason: String { String(cString: strerror(errno)) }

    package var description: String { "\(call) failed: \(reason) (errno \(errno))" }
}

/// Runs system calls the one way StoreHub wants them: a call interrupted by a signal (EINTR) is made again, and a
/// failure becomes a `SystemCallError` that names the call.
///
/// `body` makes the call once and returns its result; a negative result is a failure whose cause is in `errno`
/// (read, write, poll, ioctl, tcgetattr, libv4l2's calls). Nothing is allocated, so frame loops may use it.
package enum SystemCall {
    /// The call's result (zero or more); throws when it failed with anything but EINTR.
    @inline(__always)
    package static func run<Result: BinaryInteger>(
        _ call: StaticString, _ body: () -> Result
    ) throws(SystemCallError) -> Result {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = Glibc.errno
            if code != EINTR { throw SystemCallError(call: call, errno: code) }
        }
    }

    /// For a non-blocking descriptor: the call's result, or nil when it would block (EAGAIN, EWOULDBLOCK) because
    /// nothing is there yet; throws on any other failure.
    @inline(__always)
    package static func runNonBlocking<Result: BinaryInteger>(
        _ call: StaticString, _ body: () -> Result
    ) throws(SystemCallError) -> Result? {
        do throws(SystemCallError) {
            return try run(call, body)
        } catch  where error.errno == EAGAIN || error.errno == EWOULDBLOCK {
            return nil
        }
    }
}
