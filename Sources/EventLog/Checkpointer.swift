import Dispatch
import Foundation
import Logging
import SQLiteStore
import Synchronization

/// Copies the write-ahead log into the database on its own thread and connection, so that no commit waits for
/// the bulk of a checkpoint. (SQLite's automatic checkpoint copies all 1000 pages and syncs the database file
/// inside the commit that crosses its threshold; every event queued behind that commit waits too.)
///
/// The writer's WAL hook wakes the thread when the log holds `threshold` frames or more; it runs a passive
/// checkpoint, which never blocks the writer or readers. Commits go on meanwhile, so that checkpoint cannot leave
/// the log fully copied, and SQLite starts the log from its beginning again only when it is. So the writer's
/// first commit after such a pass finishes the job inline: it copies only the frames added since, and the next
/// commit starts the log over. The file then keeps its size, and a commit's fdatasync has no size to record.
final class Checkpointer: @unchecked Sendable {
    // @unchecked: `connection` is used only by the checkpoint thread; the rest is atomic or thread-safe.
    static let threshold = 1000

    let hook: SQLiteConnection.WALHook
    private let connection: SQLiteConnection
    private let wake = DispatchSemaphore(value: 0)
    private let flags: Flags
    private let done = DispatchSemaphore(value: 0)
    private let logger: Logger

    private final class Flags: Sendable {
        /// The thread was woken and has not started its pass yet.
        let pending = Atomic<Bool>(false)
        /// A pass ended; the writer's next commit copies the rest.
        let caughtUp = Atomic<Bool>(false)
        let stopped = Atomic<Bool>(false)
    }

    init(path: String, logger: Logger) throws(SQLiteError) {
        connection = try SQLiteConnection(path: path)
        self.logger = logger
        let flags = Flags()
        let wake = wake
        hook = SQLiteConnection.WALHook { frames in
            guard frames >= Self.threshold else { return false }
            if flags.caughtUp.exchange(false, ordering: .acquiringAndReleasing) { return true }
            if !flags.pending.exchange(true, ordering: .acquiringAndReleasing) { wake.signal() }
            return false
        }
        self.flags = flags
        let thread = Thread { [self] in run() }
        thread.name = "storehub-log-checkpoint"
        thread.start()
    }

    private func run() {
        while true {
            wake.wait()
            if flags.stopped.load(ordering: .acquiring) { break }
            do {
                try connection.checkpoint()
                flags.caughtUp.store(true, ordering: .releasing)
            } catch {
                logger.warning("event log checkpoint failed (the write-ahead log grows until one succeeds): \(error)")
            }
            flags.pending.store(false, ordering: .releasing)
        }
        done.signal()
    }

    /// Ends the thread, after a checkpoint that is running.
    func stop() {
        flags.stopped.store(true, ordering: .releasing)
        wake.signal()
        done.wait()
    }
}
