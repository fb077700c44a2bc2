import Config
import CoreMetrics
import Dispatch
import Foundation
import HubCore
import Logging
import SQLiteStore
import Synchronization

/// The hub's durable event log: SQLite in WAL mode with `synchronous=FULL` and group commit.
///
/// One writer thread owns the write connection. Appends from any task queue up while a commit is running and
/// go into the next transaction together, so one fsync accepts many events. An event is accepted when
/// `append` returns: its commit is on disk. Sequences are given out when an append is queued, in order, from
/// the larger of SQLite's AUTOINCREMENT counter and a range reserved ahead in `meta`; they are monotonic and never
/// reused, even after retention removed every row, a failed commit or a crash.
package final class EventLog: Sendable {
    /// Where this log's database lives.
    package let path: String
    let settings: HubConfig.LogSettings
    /// Topics whose last event is kept for new subscribers; nil: none.
    private let retainedTopics: TopicPattern?
    var dedupeWindowMs: Int64 { Int64(settings.dedupeWindowHours * 3_600_000) }
    let logger: Logger
    let queue: Mutex<WriterQueue>
    let wake = DispatchSemaphore(value: 0)
    let finished = DispatchSemaphore(value: 0)
    // Reads come from many tasks; one read connection behind a lock is enough for the rates here.
    let reader: Mutex<Reader>
    let bounds: Mutex<Bounds>
    private let cursors: Mutex<[String: UInt64]>
    /// The last event of each retained topic, as committed: new subscribers get them without a database read.
    /// Bounded by `log.maxRetainedTopics` events of at most `bus.maxRetainedEventBytes`.
    let retainedCache: Mutex<[String: StoredEvent]>
    let listener = Mutex<CommitListener?>(nil)
    let commitStats = Mutex(CommitStats())
    /// Each commit's wall time for /metrics, recorded while the commit is counted in `commitStats`.
    let commitTimer: CoreMetrics.Timer?
    private let checkpointer: Checkpointer

    struct WriterQueue {
        var jobs: [Job] = []
        var writerIdle = false
        var closed = false
        /// Sequences are given out here, in the order appends arrive, so that live subscribers can have an event
        /// before its commit. A transaction that fails leaves a gap; no number is given out twice.
        var nextSequence: UInt64
        /// Committed in `meta` ahead of use: after a crash the log goes on after it.
        var reservedThrough: UInt64
        /// The next sequence the live listener is owed; an append goes to it at once only when it is next in line.
        var liveNext: UInt64

        /// A job was queued: true when the writer sleeps and must be woken (it is marked busy now).
        mutating func takeWriter() -> Bool {
            let wasIdle = writerIdle
            writerIdle = false
            return wasIdle
        }
    }

    struct Bounds {
        /// Oldest retained sequence; `last + 1` when the log is empty.
        var first: UInt64
        var last: UInt64
    }

    /// Counters of the writer, for benchmarks and metrics.
    package struct CommitStats: Sendable {
        package var commits: UInt64 = 0
        package var events: UInt64 = 0
        /// Wall time of the last commits (BEGIN to COMMIT returned), seconds; a ring of the newest 4096.
        package var recentDurations: [Double] = []
        /// Every commit's wall time, seconds.
        package var durations = Histogram()
    }

    enum Job {
        /// Events with their sequences and, when any has some, their drafts' notes; `live` tells whether the live
        /// listener already has them.
        case append(
            [StoredEvent], notes: [DraftNotes]?, live: Bool, @Sendable (Result<[StoredEvent], any Error>) -> Void)
        case acknowledge(consumer: String, sequence: UInt64)
        case renameConsumer(from: String, to: String)
        case retention(now: Date, CheckedContinuation<Int, any Error>)
        case probe(@Sendable (Result<Void, any Error>) -> Void)
        case close
    }

    /// Opens (creating if needed) the log at `path`. The last event of each topic matching `retaining` is kept for
    /// new subscribers (the hub retains every device's status); nil: no topic is retained. `commitTimer` is given
    /// every commit's wall time as it is counted.
    package init(
        path: String, settings: HubConfig.LogSettings = .init(), retaining retainedTopics: TopicPattern? = nil,
        logger: Logger = Logger(label: "storehub.log"), commitTimer: CoreMetrics.Timer? = nil
    ) throws(SQLiteError) {
        self.path = path
        self.settings = settings
        self.retainedTopics = retainedTopics
        self.logger = logger
        self.commitTimer = commitTimer
        let writer = try SQLiteConnection(path: path)
        try writer.execute(
            """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=FULL;
            CREATE TABLE IF NOT EXISTS events(
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                topic TEXT NOT NULL,
                created_ms INTEGER NOT NULL,
                body BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS consumers(
                name TEXT PRIMARY KEY,
                acked INTEGER NOT NULL,
                updated_ms INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS retained(
                topic TEXT PRIMARY KEY,
                seq INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS meta(
                key TEXT PRIMARY KEY,
                value INTEGER NOT NULL);
            """ + DedupeStatements.schema + PickupStatements.schema + InsightStatements.schema)
        let last = UInt64(try writer.scalar("SELECT seq FROM sqlite_sequence WHERE name = 'events'") ?? 0)
        let first = UInt64(try writer.scalar("SELECT min(seq) FROM events") ?? Int64(last + 1))
        let reserved = UInt64(try writer.scalar("SELECT value FROM meta WHERE key = 'reserved_through'") ?? 0)
        if reserved > last {
            // Not closed cleanly: sequences up to `reserved` may have reached live subscribers without being
            // committed. They are skipped, never given to another event.
            logger.notice(
                "event log: the hub did not stop cleanly; sequences \(last + 1) to \(reserved) are skipped (they may have reached live subscribers but were not committed)"
            )
        }
        bounds = Mutex(Bounds(first: first, last: last))
        var loaded: [String: UInt64] = [:]
        let statement = try writer.prepare("SELECT name, acked FROM consumers")
        while try statement.step() { loaded[statement.text(0)] = UInt64(statement.int64(1)) }
        cursors = Mutex(loaded)
        var retained: [String: StoredEvent] = [:]
        let retainedRows = try writer.prepare(
            "SELECT e.seq, e.topic, e.body FROM retained r JOIN events e ON e.seq = r.seq ORDER BY e.seq")
        while try retainedRows.step() {
            let event = StoredEvent(
                sequence: UInt64(retainedRows.int64(0)), topic: retainedRows.text(1), body: retainedRows.bytes(2))
            // A log from before the topic grammar may hold retained topics no device can have.
            if retainedTopics?.matches(event.topic) == true, (try? Topic.validate(event.topic)) != nil {
                retained[event.topic] = event
            }
        }
        retainedCache = Mutex(retained)
        reader = Mutex(try Reader(path: path))
        checkpointer = try Checkpointer(path: path, logger: logger)
        writer.onWALCommit(checkpointer.hook)
        let next = max(last, reserved) + 1
        queue = Mutex(WriterQueue(nextSequence: next, reservedThrough: next - 1, liveNext: next))
        let handoff = WriterHandoff(connection: writer, statements: try WriterStatements(writer))
        let thread = Thread { [self] in
            self.runWriter(handoff)
        }
        thread.name = "storehub-log-writer"
        thread.start()
    }

    /// `committed` is called on the writer thread after every commit with the events it accepted, in sequence
    /// order. `live` gets every appended event once, in sequence order, as early as it may: when the append is
    /// made, if a committed reservation covers its sequences and every earlier event went out already (so live
    /// subscribers need not wait for the disk); otherwise right after its commit. A crash skips the reserved
    /// range, so no sequence `live` saw is ever given to another event; but `live` may have seen events whose
    /// commit then failed or was cut off. Keep both short: appends and the next commit wait for them.
    package func onCommit(
        live: (@Sendable ([StoredEvent]) -> Void)? = nil,
        _ committed: @escaping @Sendable (_ events: [StoredEvent]) -> Void
    ) {
        listener.withLock { $0 = CommitListener(live: live, committed: committed) }
    }

    /// Appends events; returns once they are committed (accepted), with their sequences.
    package func append(_ drafts: [EventDraft]) async throws -> [StoredEvent] {
        if drafts.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            append(drafts) { continuation.resume(with: $0) }
        }
    }

    /// Appends events and calls `completion` on the writer thread once they are committed or refused.
    ///
    /// Completions run in the order the appends were made, so a caller can answer its clients in order.
    package func append(
        _ drafts: [EventDraft], completion: @escaping @Sendable (Result<[StoredEvent], any Error>) -> Void
    ) {
        let listener = listener.withLock { $0 }
        let outcome = queue.withLock { queue -> Bool? in
            if queue.closed { return nil }
            let first = queue.nextSequence
            queue.nextSequence += UInt64(drafts.count)
            let events = drafts.enumerated().map { index, draft in
                StoredEvent(sequence: first + UInt64(index), topic: draft.topic, body: draft.body)
            }
            let last = queue.nextSequence - 1
            // Retained topics wait for their commit: a subscriber that registers meanwhile gets the retained event
            // from the database, which must already hold it. Events with a dedupe key wait too: only the commit
            // knows whether they are repeats.
            let notes =
                drafts.contains { $0.dedupe != nil || $0.pickup != nil || $0.insight != nil }
                ? drafts.map(DraftNotes.init) : nil
            let live =
                listener?.live != nil && first == queue.liveNext && last <= queue.reservedThrough
                && !events.contains { isRetained($0.topic) } && !drafts.contains { $0.dedupe != nil }
            if live {
                // Inside the lock: the next append's events cannot overtake these.
                listener?.live?(events)
                queue.liveNext = last + 1
            }
            queue.jobs.append(.append(events, notes: notes, live: live, completion))
            return queue.takeWriter()
        }
        wakeWriter(outcome, orFail: { completion(.failure(LogClosedError())) })
    }

    /// Appends one event; returns it once committed.
    package func append(_ draft: EventDraft) async throws -> StoredEvent {
        try await append([draft])[0]
    }

    /// Records that `consumer` has processed everything up to `sequence`. Stored with the next commit.
    package func acknowledge(consumer: String, sequence: UInt64) {
        let advanced = cursors.withLock { cursors in
            if let current = cursors[consumer], current >= sequence { return false }
            cursors[consumer] = sequence
            return true
        }
        if advanced { enqueue(.acknowledge(consumer: consumer, sequence: sequence), orFail: {}) }
    }

    /// The last acknowledged sequence of `consumer`, nil for a consumer never seen.
    package func cursor(for consumer: String) -> UInt64? {
        cursors.withLock { $0[consumer] }
    }

    /// Moves `consumer`'s cursor to the name `newName` (in the next commit), unless `newName` has one already.
    package func renameConsumer(_ consumer: String, to newName: String) {
        let moved = cursors.withLock { cursors -> Bool in
            guard cursors[newName] == nil, let cursor = cursors.removeValue(forKey: consumer) else { return false }
            cursors[newName] = cursor
            return true
        }
        if moved { enqueue(.renameConsumer(from: consumer, to: newName), orFail: {}) }
    }

    /// Every durable consumer and its cursor.
    package func consumers() -> [String: UInt64] {
        cursors.withLock { $0 }
    }

    /// Oldest retained and newest accepted sequence; an empty log has `first == last + 1`.
    package var sequenceBounds: (first: UInt64, last: UInt64) {
        bounds.withLock { ($0.first, $0.last) }
    }

    package var stats: CommitStats { commitStats.withLock { $0 } }

    /// Runs `body` with the writer's counters while no commit can be counted: what `body` reads of `commitTimer`
    /// then agrees with `stats.commits`.
    package func withStats<Result>(_ body: (CommitStats) -> Result) -> Result {
        commitStats.withLock { body($0) }
    }

    /// Bytes the log takes on disk: the database and its write-ahead log.
    package var sizeOnDisk: UInt64 {
        [path, path + "-wal"].reduce(0) { total, file in
            var info = stat()
            return stat(file, &info) == 0 ? total + UInt64(info.st_size) : total
        }
    }

    /// Up to `limit` events with sequence > `after`, whose topic matches `pattern` (all when nil).
    ///
    /// Scans at most `scanLimit` rows; `scannedThrough` is the last sequence looked at, so a caller with a
    /// narrow pattern can continue from there without rescanning.
    package func read(after: UInt64, matching pattern: TopicPattern? = nil, limit: Int, scanLimit: Int = 10_000)
        throws -> (events: [StoredEvent], scannedThrough: UInt64)
    {
        try reader.withLock { reader in
            try reader.read(after: after, pattern: pattern, limit: limit, scanLimit: scanLimit)
        }
    }

    /// The last event of every retained topic (the hub's: `device.status.<device>`), in sequence order.
    package func retainedEvents() -> [StoredEvent] {
        retainedCache.withLock { Array($0.values) }.sorted { $0.sequence < $1.sequence }
    }

    /// Removes events past the configured age, count or size. Returns how many were removed.
    @discardableResult
    package func applyRetention(now: Date = Date()) async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(.retention(now: now, continuation), orFail: { continuation.resume(throwing: LogClosedError()) })
        }
    }

    /// Asks the writer to write a row (`meta.probe`, the time) and commit it; `completion` runs on the writer thread
    /// with the outcome. The hub's watchdog uses it: a writer that cannot commit (a full or wedged disk, a database
    /// locked by another process) means the hub is not healthy. (An empty transaction would pass on a full disk.)
    package func probe(_ completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        enqueue(.probe(completion), orFail: { completion(.failure(LogClosedError())) })
    }

    /// Commits what is queued, stops the writer and closes the database. Appends after this fail.
    package func close() {
        let first = queue.withLock { queue -> Bool in
            if queue.closed { return false }
            queue.closed = true
            queue.jobs.append(.close)
            return true
        }
        guard first else { return }
        checkpointer.stop()
        wake.signal()
        finished.wait()
    }

    private func enqueue(_ job: Job, orFail fail: () -> Void) {
        let outcome = queue.withLock { queue -> Bool? in
            if queue.closed { return nil }
            queue.jobs.append(job)
            return queue.takeWriter()
        }
        wakeWriter(outcome, orFail: fail)
    }

    /// After a job was queued: nil when the log was closed, true when the writer sleeps and must be woken.
    private func wakeWriter(_ outcome: Bool?, orFail fail: () -> Void) {
        switch outcome {
        case nil: fail()
        case true?: wake.signal()
        case false?: break
        }
    }

    /// Whether the log keeps the last event of `topic` for new subscribers: it matches the pattern given at open.
    package func isRetained(_ topic: String) -> Bool {
        retainedTopics?.matches(topic) ?? false
    }
}

/// The commit callback, boxed: a bare optional closure read out of a Mutex is re-wrapped in a new conversion
/// thunk on every read, so calling it after each commit got slower and used more memory with every commit.
struct CommitListener: Sendable {
    let live: (@Sendable ([StoredEvent]) -> Void)?
    let committed: @Sendable ([StoredEvent]) -> Void
}

/// Raised by appends after `close()`.
package struct LogClosedError: Error, CustomStringConvertible {
    package var description: String { "the event log is closed (the hub is shutting down)" }
}
