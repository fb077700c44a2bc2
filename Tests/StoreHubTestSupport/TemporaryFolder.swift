import Foundation

/// A fresh folder under the system's temporary directory for one test, removed with everything in it when the
/// last reference goes.
package final class TemporaryFolder: Sendable {
    /// The folder; it exists from `init` on.
    package let url: URL

    /// Makes `<tmp>/<prefix>-<UUID>`; the prefix says in a listing which tests left it, should one remain.
    package init(_ prefix: String = "storehub") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    /// The folder's path.
    package var path: String { url.path }

    /// The URL of `name` inside the folder (not created).
    package func file(_ name: String) -> URL {
        url.appendingPathComponent(name)
    }

    /// The hub's database file in this folder, as a hub's state directory holds it (not created).
    package var databasePath: String { file("hub.sqlite").path }
}
