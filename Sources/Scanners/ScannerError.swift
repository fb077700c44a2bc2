import Foundation
import HubCore

/// A scanner failure: what happened, what staff can do, the system's own words, and whether retrying may help.
package struct ScannerError: DeviceFailure, Sendable {
    /// For staff: what is wrong and what to do about it.
    package var message: String
    /// The underlying cause (an errno text, a library's answer), when there is one.
    package var cause: String?
    /// True when the device may come back by itself (unplugged); the supervisor retries with backoff.
    package var isTransient: Bool

    package init(_ message: String, cause: String? = nil, isTransient: Bool) {
        self.message = message
        self.cause = cause
        self.isTransient = isTransient
    }

    package var description: String { cause.map { "\(message) (\($0))" } ?? message }

    /// The text of an errno value.
    static func text(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// Why a device node could not be opened, with the fix for the common cases.
    static func open(_ path: String, _ code: Int32, what: String, group: String) -> ScannerError {
        switch code {
        case ENOENT, ENODEV, ENXIO:
            return ScannerError(
                "\(path) does not exist (\(what) not plugged in?)", cause: text(code), isTransient: true)
        case EACCES, EPERM:
            return ScannerError(
                "\(path): permission denied; add the user running storehub to the '\(group)' group",
                cause: text(code), isTransient: true)
        case EBUSY:
            return ScannerError(
                "\(path) is busy: another program holds the \(what)", cause: text(code), isTransient: true)
        default:
            return ScannerError("\(path) cannot be opened", cause: text(code), isTransient: true)
        }
    }
}
