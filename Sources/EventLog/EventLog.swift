import Config
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
public final class EventLog: Sendable {
    /// Where this log's database lives.
    public let path: String
    private let settings: HubConfig.LogSettings
    /// Topics whose last event is kept for new subscribers; nil: none.
    private let retainedTopics: TopicPattern?
    private var dedupeWindowMs: Int64 { Int64(settings.dedupeWindowHours * 3_600_000) }
    private let logger: Logger
    private let queue: Mutex<WriterQueue>
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    // Reads come from many tasks; one read connection behind a lock is enough for the rates here.
    let reader: Mutex<Reader>
    private let bounds: Mutex<Bounds>
    private let cursors: Mutex<[String: UInt64]>
    /// The last event of each retained topic, as committed: new subscribers get them without a database read.
    /// Bounded by `log.maxRetainedTopics` events of at most `bus.maxRetainedEventBytes`.
    private let retainedCache: Mutex<[String: StoredEvent]>
    private let listener = Mutex<CommitListener?>(nil)
    private let commitStats = Mutex(CommitStats())
    private let checkpointer: Checkpointer

    private struct WriterQueue {
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

    private struct Bounds {
        /// Oldest retained sequence; `last + 1` when the log is empty.
        var first: UInt64
        var last: UInt64
    }

    /// Counters of the writer, for benchmarks and metrics.
    public struct CommitStats: Sendable {
        public var commits: UInt64 = 0
        public var events: UInt64 = 0
        /// Wall time of the last commits (BEGIN to COMMIT returned), seconds; a ring of the newest 4096.
        public var recentDurations: [Double] = []
        /// Every commit's wall time, seconds.
        public var durations = Histogram()
    }

    private enum Job {
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
    /// new subscribers (the hub retains every device's status); nil: no topic is retained.
    public init(
        path: String, settings: HubConfig.LogSettings = .init(), retaining retainedTopics: TopicPattern? = nil,
        logger: Logger = Logger(label: "storehub.log")
    ) throws(SQLiteError) {
        self.path = path
        self.settings = settings
        self.retainedTopics = retainedTopics
        self.logger = logger
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
    public func onCommit(
        live: (@Sendable ([StoredEvent]) -> Void)? = nil,
        _ committed: @escaping @Sendable (_ events: [StoredEvent]) -> Void
    ) {
        listener.withLock { $0 = CommitListener(live: live, committed: committed) }
    }

    /// Appends events; returns once they are committed (accepted), with their sequences.
    public func append(_ drafts: [EventDraft]) async throws -> [StoredEvent] {
        if drafts.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            append(drafts) { continuation.resume(with: $0) }
        }
    }

    /// Appends events and calls `completion` on the writer thread once they are committed or refused.
    ///
    /// Completions run in the order the appends were made, so a caller can answer its clients in order.
    public func append(
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
    public func append(_ draft: EventDraft) async throws -> StoredEvent {
        try await append([draft])[0]
    }

    /// Records that `consumer` has processed everything up to `sequence`. Stored with the next commit.
    public func acknowledge(consumer: String, sequence: UInt64) {
        let advanced = cursors.withLock { cursors in
            if let current = cursors[consumer], current >= sequence { return false }
            cursors[consumer] = sequence
            return true
        }
        if advanced { enqueue(.acknowledge(consumer: consumer, sequence: sequence), orFail: {}) }
    }

    /// The last acknowledged sequence of `consumer`, nil for a consumer never seen.
    public func cursor(for consumer: String) -> UInt64? {
        cursors.withLock { $0[consumer] }
    }

    /// Moves `consumer`'s cursor to the name `newName` (in the next commit), unless `newName` has one already.
    public func renameConsumer(_ consumer: String, to newName: String) {
        let moved = cursors.withLock { cursors -> Bool in
            guard cursors[newName] == nil, let cursor = cursors.removeValue(forKey: consumer) else { return false }
            cursors[newName] = cursor
            return true
        }
        if moved { enqueue(.renameConsumer(from: consumer, to: newName), orFail: {}) }
    }

    /// Every durable consumer and its cursor.
    public func consumers() -> [String: UInt64] {
        cursors.withLock { $0 }
    }

    /// Oldest retained and newest accepted sequence; an empty log has `first == last + 1`.
    public var sequenceBounds: (first: UInt64, last: UInt64) {
        bounds.withLock { ($0.first, $0.last) }
    }

    public var stats: CommitStats { commitStats.withLock { $0 } }

    /// Bytes the log takes on disk: the database and its write-ahead log.
    public var sizeOnDisk: UInt64 {
        [path, path + "-wal"].reduce(0) { total, file in
            var info = stat()
            return stat(file, &info) == 0 ? total + UInt64(info.st_size) : total
        }
    }

    /// Up to `limit` events with sequence > `after`, whose topic matches `pattern` (all when nil).
    ///
    /// Scans at most `scanLimit` rows; `scannedThrough` is the last sequence looked at, so a caller with a
    /// narrow pattern can continue from there without rescanning.
    public func read(after: UInt64, matching pattern: TopicPattern? = nil, limit: Int, scanLimit: Int = 10_000)
        throws -> (events: [StoredEvent], scannedThrough: UInt64)
    {
        try reader.withLock { reader in
            try reader.read(after: after, pattern: pattern, limit: limit, scanLimit: scanLimit)
        }
    }

    /// The last event of every retained topic (the hub's: `device.status.<device>`), in sequence order.
    public func retainedEvents() -> [StoredEvent] {
        retainedCache.withLock { Array($0.values) }.sorted { $0.sequence < $1.sequence }
    }

    /// Removes events past the configured age, count or size. Returns how many were removed.
    @discardableResult
    public func applyRetention(now: Date = Date()) async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(.retention(now: now, continuation), orFail: { continuation.resume(throwing: LogClosedError()) })
        }
    }

    /// Asks the writer to write a row (`meta.probe`, the time) and commit it; `completion` runs on the writer thread
    /// with the outcome. The hub's watchdog uses it: a writer that cannot commit (a full or wedged disk, a database
    /// locked by another process) means the hub is not healthy. (An empty transaction would pass on a full disk.)
    public func probe(_ completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        enqueue(.probe(completion), orFail: { completion(.failure(LogClosedError())) })
    }

    /// Commits what is queued, stops the writer and closes the database. Appends after this fail.
    public func close() {
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

    // MARK: writer thread

    private func runWriter(_ handoff: WriterHandoff) {
        let connection = handoff.connection
        let statements = handoff.statements
        while true {
            let jobs = queue.withLock { queue -> [Job] in
                if queue.jobs.isEmpty {
                    queue.writerIdle = true
                    return []
                }
                defer { queue.jobs.removeAll(keepingCapacity: true) }
                return queue.jobs
            }
            if jobs.isEmpty {
                wake.wait()
                continue
            }
            let shouldClose = commit(jobs, connection: connection, statements: statements)
            if shouldClose { break }
        }
        do {
            // Closed cleanly: nothing beyond the last sequence given out can have been seen, so the next start goes
            // on from there instead of skipping the reserved range.
            statements.reserve.bind(1, Int64(queue.withLock { $0.nextSequence } - 1))
            try statements.reserve.run()
            try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        } catch {
            logger.warning("event log checkpoint at close failed: \(error)")
        }
        finished.signal()
    }

    /// Runs one transaction for all `jobs`. Returns true when a close was among them.
    private func commit(_ jobs: [Job], connection: SQLiteConnection, statements: WriterStatements) -> Bool {
        var accepted: [StoredEvent] = []
        var newlyRetained: [StoredEvent] = []
        var notRetained = 0
        var appendedBytes = 0
        /// What each append job is answered: its events, repeats of a dedupe key marked `duplicate`.
        var answers: [[StoredEvent]] = []
        var reserving: UInt64?
        var closing = false
        var removed = 0
        let started = DispatchTime.now().uptimeNanoseconds
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        do {
            try statements.begin.run()
            for job in jobs {
                switch job {
                case .append(let events, let notes, _, _):
                    var answer: [StoredEvent] = []
                    defer { answers.append(answer) }
                    for (index, event) in events.enumerated() {
                        let key = notes?[index].dedupe
                        if let key,
                            let first = try statements.dedupe.sequence(for: key, sinceMs: nowMs - dedupeWindowMs)
                        {
                            var repeated = event
                            repeated.sequence = first
                            repeated.duplicate = true
                            answer.append(repeated)
                            continue
                        }
                        if let key { try statements.dedupe.record(key, sequence: event.sequence, nowMs: nowMs) }
                        answer.append(event)
                        let sequence = event.sequence
                        statements.insert.bind(1, Int64(sequence))
                        statements.insert.bind(2, event.topic)
                        statements.insert.bind(3, nowMs)
                        statements.insert.bind(4, bytes: event.body)
                        try statements.insert.run()
                        if isRetained(event.topic) {
                            if mayRetain(event.topic, besides: newlyRetained) {
                                statements.retain.bind(1, event.topic)
                                statements.retain.bind(2, Int64(sequence))
                                try statements.retain.run()
                                newlyRetained.append(event)
                            } else {
                                notRetained += 1
                            }
                        }
                        appendedBytes += event.body.count + event.topic.utf8.count
                        if let fact = notes?[index].pickup {
                            try statements.pickups.record(fact, sequence: sequence, nowMs: nowMs)
                        }
                        if let fact = notes?[index].insight {
                            try statements.insights.record(fact, sequence: sequence, nowMs: nowMs)
                        }
                        accepted.append(event)
                    }
                case .acknowledge(let consumer, let sequence):
                    statements.acknowledge.bind(1, consumer)
                    statements.acknowledge.bind(2, Int64(sequence))
                    statements.acknowledge.bind(3, nowMs)
                    try statements.acknowledge.run()
                case .renameConsumer(let from, let to):
                    statements.renameConsumer.bind(1, to)
                    statements.renameConsumer.bind(2, from)
                    try statements.renameConsumer.run()
                case .retention(let now, _):
                    removed += try retain(now: now, connection: connection)
                    let forgotten = try statements.dedupe.expire(
                        beforeMs: Int64(now.timeIntervalSince1970 * 1000) - dedupeWindowMs, connection: connection)
                    if forgotten > 0 { logger.debug("event log: \(forgotten) dedupe ids past the window forgotten") }
                case .probe:
                    statements.probe.bind(1, nowMs)
                    try statements.probe.run()
                case .close:
                    closing = true
                }
            }
            // Size is checked as the log grows, not only by the periodic pass: a fast publisher fills the disk between
            // two passes. The check costs three PRAGMAs, so it runs once per `sizeCheckBytes` appended.
            statements.uncheckedBytes += appendedBytes
            if statements.uncheckedBytes >= sizeCheckBytes {
                statements.uncheckedBytes = 0
                removed += try retainBySize(connection: connection)
            }
            // Sequences are reserved ahead, in this transaction; once it is committed, events up to the reservation
            // may go to live subscribers before their own commit is on disk.
            let (given, reserved) = queue.withLock { ($0.nextSequence - 1, $0.reservedThrough) }
            if given + Self.reserveMargin > reserved {
                reserving = given + Self.reserveBlock
                statements.reserve.bind(1, Int64(reserving ?? 0))
                try statements.reserve.run()
            }
            try statements.commit.run()
        } catch {
            try? statements.rollback.run()
            settleLive(jobs, answers: nil, reserved: nil)
            logger.error("event log commit failed, \(jobs.count) requests refused: \(error)")
            for job in jobs {
                switch job {
                case .append(_, _, _, let completion): completion(.failure(error))
                case .retention(_, let continuation): continuation.resume(throwing: error)
                case .probe(let completion): completion(.failure(error))
                case .acknowledge, .renameConsumer, .close: break
                }
            }
            return closing
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        commitStats.withLock { stats in
            stats.commits += 1
            stats.events += UInt64(accepted.count)
            if stats.recentDurations.count >= 4096 { stats.recentDurations.removeFirst(1024) }
            stats.recentDurations.append(seconds)
            stats.durations.record(seconds)
        }
        if let last = accepted.last {
            bounds.withLock { bounds in
                if bounds.first > bounds.last { bounds.first = accepted[0].sequence }
                bounds.last = last.sequence
            }
        }
        if notRetained > 0 {
            logger.warning(
                "event log: \(notRetained) status events of new devices were not retained: log.maxRetainedTopics (\(settings.maxRetainedTopics)) devices have a retained status"
            )
        }
        if !newlyRetained.isEmpty {
            retainedCache.withLock { cache in
                for event in newlyRetained { cache[event.topic] = event }
            }
        }
        settleLive(jobs, answers: answers, reserved: reserving)
        if !accepted.isEmpty { listener.withLock { $0 }?.committed(accepted) }
        if removed > 0 {
            let first = (try? connection.scalar("SELECT min(seq) FROM events")).flatMap { $0 }
            let oldest = bounds.withLock { bounds -> UInt64 in
                bounds.first = first.map { UInt64($0) } ?? bounds.last + 1
                return bounds.first
            }
            retainedCache.withLock { cache in cache = cache.filter { $0.value.sequence >= oldest } }
        }
        var answered = answers.makeIterator()
        for job in jobs {
            switch job {
            case .append(_, _, _, let completion):
                completion(.success(answered.next() ?? []))
            case .retention(_, let continuation):
                continuation.resume(returning: removed)
            case .probe(let completion):
                completion(.success(()))
            case .acknowledge, .renameConsumer, .close:
                break
            }
        }
        return closing
    }

    /// Whether the log keeps the last event of `topic` for new subscribers: it matches the pattern given at open.
    public func isRetained(_ topic: String) -> Bool {
        retainedTopics?.matches(topic) ?? false
    }

    /// Whether `topic` may be retained: it is already, or fewer than `log.maxRetainedTopics` topics are.
    private func mayRetain(_ topic: String, besides added: [StoredEvent]) -> Bool {
        let (known, count) = retainedCache.withLock { ($0[topic] != nil, $0.count) }
        if known || added.contains(where: { $0.topic == topic }) { return true }
        return count + Set(added.map(\.topic)).count < settings.maxRetainedTopics
    }

    /// Appended bytes between two size checks at commit time: a sixty-fourth of `log.maxBytes`, at most 8 MiB.
    private var sizeCheckBytes: Int { min(settings.maxBytes / 64, 8 << 20) }

    /// Sequences reserved at a time, and how close the sequences given out may come to the end of the reservation
    /// before the next commit reserves more.
    static let reserveBlock: UInt64 = 100_000
    static let reserveMargin: UInt64 = 50_000

    /// After a transaction: the live listener gets the committed events it did not have yet, in order, and
    /// appends made from now on may go to it at once if they are next in line (and within a `reserved` range that
    /// is now committed).
    /// `answers` are the append jobs' answers when the transaction was committed, nil when it failed; repeats of a
    /// dedupe key in them were not stored and go to no one.
    private func settleLive(_ jobs: [Job], answers: [[StoredEvent]]?, reserved: UInt64?) {
        let live = listener.withLock { $0 }?.live
        var answered = answers?.makeIterator()
        queue.withLock { queue in
            for case .append(let events, _, let had, _) in jobs {
                let answer = answered?.next()
                guard let last = events.last else { continue }
                if let answer, !had {
                    let stored = answer.contains(where: \.duplicate) ? answer.filter { !$0.duplicate } : answer
                    if !stored.isEmpty { live?(stored) }
                }
                queue.liveNext = max(queue.liveNext, last.sequence + 1)
            }
            if let reserved { queue.reservedThrough = max(queue.reservedThrough, reserved) }
        }
    }

    /// Deletes the oldest events beyond age, count and size limits, inside the current transaction.
    private func retain(now: Date, connection: SQLiteConnection) throws(SQLiteError) -> Int {
        var removed = 0
        let cutoffMs = Int64((now.timeIntervalSince1970 - settings.maxAgeHours * 3600) * 1000)
        // Rows are in time order, so the expired ones are a prefix: the scan stops at the first young row.
        let firstYoung = try connection.scalar(
            "SELECT seq FROM events WHERE created_ms >= \(cutoffMs) ORDER BY seq LIMIT 1")
        if let firstYoung {
            try connection.execute("DELETE FROM events WHERE seq < \(firstYoung)")
        } else {
            try connection.execute("DELETE FROM events")
        }
        removed += connection.changes
        if let last = try connection.scalar("SELECT max(seq) FROM events") {
            try connection.execute("DELETE FROM events WHERE seq <= \(last - Int64(settings.maxEvents))")
            removed += connection.changes
        }
        removed += try retainBySize(connection: connection)
        if removed > 0 { logger.info("event log retention removed \(removed) events") }
        return removed
    }

    /// Deletes the oldest events until the database uses at most nine tenths of `log.maxBytes` (freed pages are
    /// reused by later appends, so the file stays near the limit), keeping the newest event. Returns how many.
    private func retainBySize(connection: SQLiteConnection) throws(SQLiteError) -> Int {
        let pageSize = try connection.scalar("PRAGMA page_size") ?? 4096
        let pages = try connection.scalar("PRAGMA page_count") ?? 0
        let free = try connection.scalar("PRAGMA freelist_count") ?? 0
        let used = (pages - free) * pageSize
        guard used > Int64(settings.maxBytes) else { return 0 }
        var excess = used - Int64(settings.maxBytes) / 10 * 9
        guard let newest = try connection.scalar("SELECT max(seq) FROM events") else { return 0 }
        // Walk the oldest rows in chunks, adding up what each takes, until enough would be freed.
        var through: Int64?
        var after: Int64 = 0
        let chunk = try connection.prepare(
            "SELECT seq, length(body) + length(topic) + 32 FROM events WHERE seq > ? AND seq < ? ORDER BY seq LIMIT 512"
        )
        walk: while excess > 0 {
            chunk.bind(1, after)
            chunk.bind(2, newest)
            var rows = 0
            while try chunk.step() {
                rows += 1
                after = chunk.int64(0)
                through = after
                excess -= chunk.int64(1)
                if excess <= 0 { break }
            }
            chunk.reset()
            if rows == 0 { break walk }
        }
        guard let through else { return 0 }
        try connection.execute("DELETE FROM events WHERE seq <= \(through)")
        logger.notice(
            "event log: over log.maxBytes (\(used) bytes in use); removed the oldest events through \(through)")
        return connection.changes
    }
}

/// The commit callback, boxed: a bare optional closure read out of a Mutex is re-wrapped in a new conversion
/// thunk on every read, so calling it after each commit got slower and used more memory with every commit.
private struct CommitListener: Sendable {
    let live: (@Sendable ([StoredEvent]) -> Void)?
    let committed: @Sendable ([StoredEvent]) -> Void
}

/// Raised by appends after `close()`.
public struct LogClosedError: Error, CustomStringConvertible {
    public var description: String { "the event log is closed (the hub is shutting down)" }
}

/// Copies the write-ahead log into the database on its own thread and connection, so that no commit waits for
/// the bulk of a checkpoint. (SQLite's automatic checkpoint copies all 1000 pages and syncs the database file
/// inside the commit that crosses its threshold; every event queued behind that commit waits too.)
///
/// The writer's WAL hook wakes the thread when the log holds `threshold` frames or more; it runs a passive
/// checkpoint, which never blocks the writer or readers. Commits go on meanwhile, so that checkpoint cannot leave
/// the log fully copied, and SQLite starts the log from its beginning again only when it is. So the writer's
/// first commit after such a pass finishes the job inline: it copies only the frames added since, and the next
/// commit starts the log over. The file then keeps its size, and a commit's fdatasync has no size to record.
private final class Checkpointer: @unchecked Sendable {
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

/// The write connection and its statements, handed to the writer thread once at start.
private struct WriterHandoff: @unchecked Sendable {
    // @unchecked: created on the opening thread, then used only by the writer thread it is handed to.
    let connection: SQLiteConnection
    let statements: WriterStatements
}

private final class WriterStatements {
    let begin: SQLiteConnection.Statement
    let commit: SQLiteConnection.Statement
    let rollback: SQLiteConnection.Statement
    let insert: SQLiteConnection.Statement
    let retain: SQLiteConnection.Statement
    let acknowledge: SQLiteConnection.Statement
    let reserve: SQLiteConnection.Statement
    let renameConsumer: SQLiteConnection.Statement
    let probe: SQLiteConnection.Statement
    /// Bytes appended since the last size check at commit time.
    var uncheckedBytes = 0
    let dedupe: DedupeStatements
    let pickups: PickupStatements
    let insights: InsightStatements

    init(_ connection: SQLiteConnection) throws(SQLiteError) {
        dedupe = try DedupeStatements(connection)
        pickups = try PickupStatements(connection)
        insights = try InsightStatements(connection)
        begin = try connection.prepare("BEGIN IMMEDIATE")
        commit = try connection.prepare("COMMIT")
        rollback = try connection.prepare("ROLLBACK")
        insert = try connection.prepare("INSERT INTO events(seq, topic, created_ms, body) VALUES(?, ?, ?, ?)")
        reserve = try connection.prepare(
            "INSERT INTO meta(key, value) VALUES('reserved_through', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        )
        renameConsumer = try connection.prepare("UPDATE OR IGNORE consumers SET name = ? WHERE name = ?")
        probe = try connection.prepare(
            "INSERT INTO meta(key, value) VALUES('probe', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        retain = try connection.prepare(
            "INSERT INTO retained(topic, seq) VALUES(?, ?) ON CONFLICT(topic) DO UPDATE SET seq = excluded.seq")
        acknowledge = try connection.prepare(
            """
            INSERT INTO consumers(name, acked, updated_ms) VALUES(?, ?, ?)
            ON CONFLICT(name) DO UPDATE SET acked = max(acked, excluded.acked), updated_ms = excluded.updated_ms
            """)
    }
}

/// The read connection and its statements; used under the log's reader lock.
final class Reader {
    let connection: SQLiteConnection
    let after: SQLiteConnection.Statement

    init(path: String) throws(SQLiteError) {
        connection = try SQLiteConnection(path: path, readOnly: true)
        after = try connection.prepare("SELECT seq, topic, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?")
    }

    func read(after sequence: UInt64, pattern: TopicPattern?, limit: Int, scanLimit: Int) throws(SQLiteError) -> (
        events: [StoredEvent], scannedThrough: UInt64
    ) {
        defer { after.reset() }
        after.bind(1, Int64(clamping: sequence))
        after.bind(2, Int64(pattern == nil ? limit : max(limit, scanLimit)))
        var events: [StoredEvent] = []
        var scanned = sequence
        while events.count < limit, try after.step() {
            scanned = UInt64(after.int64(0))
            let topic = after.text(1)
            if let pattern, !pattern.matches(topic) { continue }
            events.append(StoredEvent(sequence: scanned, topic: topic, body: after.bytes(2)))
        }
        return (events, scanned)
    }
}
