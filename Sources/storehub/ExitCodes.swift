import ArgumentParser

/// The exit codes of BSD's sysexits.h, which systemd and shell scripts know: what kind of failure stopped the
/// command, so a unit's `RestartPreventExitStatus` or a script can tell a bad config from a missing device.
extension ExitCode {
    /// EX_USAGE: the command was used wrongly (an argument out of range, a missing option).
    static let usage = ExitCode(64)
    /// EX_DATAERR: the input was read but is not valid (a picture with no code in it).
    static let dataError = ExitCode(65)
    /// EX_UNAVAILABLE: something the hub needs is not there (a port taken, a service down).
    static let unavailable = ExitCode(69)
    /// EX_SOFTWARE: an internal error.
    static let software = ExitCode(70)
    /// EX_CANTCREAT: a file or folder the hub must write cannot be made.
    static let cannotCreate = ExitCode(73)
    /// EX_CONFIG: the configuration is wrong; restarting will not help until it is fixed.
    static let config = ExitCode(78)
}
