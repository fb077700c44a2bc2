import Foundation

/// The hub's state directory: event log, tokens, TLS key, snapshots. Nobody but the hub's user may read it.
package enum StateDirectory {
    /// Makes files this process creates from now on private to its user (0600 files, 0700 folders), then creates
    /// `url` with mode 0700 when it does not exist.
    ///
    /// Under systemd the unit's `UMask=0077` and `StateDirectoryMode` do this already; run by hand (`storehub run
    /// --state DIR`, `storehub token create`) the shell's umask, often 0022, would leave the database, which holds
    /// the token hashes and every event, readable by every user of the machine.
    package static func create(at url: URL) throws {
        umask(0o077)
        try FileManager.default.createDirectory(
            at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }
}
