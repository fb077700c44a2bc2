/// A device's failure as its pipeline's supervisor reads it: whether reopening the device may help.
///
/// Cameras and scanners throw their own errors (what went wrong, what staff can do); the supervisor looks only at
/// this. A thrown error that is no `DeviceFailure` counts as transient.
package protocol DeviceFailure: Error, CustomStringConvertible {
    /// True when the device may come back by itself (unplugged, busy, a stalled driver): the supervisor reopens it
    /// with backoff. False when only a changed descriptor or another device helps: the device is reported `failed`
    /// with `description` and not reopened.
    var isTransient: Bool { get }
}
