import Config
import CoreMetrics
import Dispatch
import Foundation
import HubCore
import Logging
import SQLiteStore
import Synchronization

extension EventLog {
    // MARK: writer thread

    func runWriter(_ handoff: WriterHandoff) {
        let connection = handoff.connection
        let statements = handoff.statements
        let commitDelay = UInt64(settings.commitDelayMs * 1_000_000)
        var lastCommitEnd: UInt64 = 0
        while true {
            let (pending, closing) = queue.withLock { queue -> (Bool, Bool) in
                if queue.jobs.isEmpty { queue.writerIdle = true }
                return (!queue.jobs.isEmpty, queue.jobs.contains { if case .close = $0 { true } else { false } })
            }
            if !pending {
                wake.wait()
                continue
            }
            // Group commit: work that comes within `log.commitDelayMs` of the last commit waits for the rest of that
            // time, and what arrives meanwhile shares its flush; a close does not wait. The writer stays marked busy,
            // so appends only queue.
            let now = DispatchTime.now().uptimeNanoseconds
            if !closing, now < lastCommitEnd + commitDelay {
                Thread.sleep(forTimeInterval: Double(lastCommitEnd + commitDelay - now) / 1e9)
            }
            let jobs = queue.withLock { queue -> [Job] in
                defer { queue.jobs.removeAll(keepingCapacity: true) }
                return queue.jobs
            }
            let shouldClose = commit(jobs, connection: connection, statements: statements)
            lastCommitEnd = DispatchTime.now().uptimeNanoseconds
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

    /// What one transaction did, gathered while it runs and acted on once it is committed.
    private struct CommitBatch {
        var accepted: [StoredEvent] = []
        var newlyRetained: [StoredEvent] = []
        /// Status events of devices beyond `log.maxRetainedTopics`: stored, not retained.
        var notRetained = 0
        var appendedBytes = 0
        /// What each append job is answered: its events, repeats of a dedupe key marked `duplicate`.
        var answers: [[StoredEvent]] = []
        /// The sequence reserved through in this transaction, if it reserved more.
        var reserving: UInt64?
        var closing = false
        /// Events removed by retention.
        var removed = 0
    }

    /// Runs one transaction for all `jobs`. Returns true when a close was among them.
    private func commit(_ jobs: [Job], connection: SQLiteConnection, statements: WriterStatements) -> Bool {
        var batch = CommitBatch()
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            try statements.begin.run()
            try write(jobs, into: &batch, connection: connection, statements: statements)
            try statements.commit.run()
        } catch {
            try? statements.rollback.run()
            refuse(jobs, error)
            return batch.closing
        }
        record(commitNanoseconds: DispatchTime.now().uptimeNanoseconds - started, events: batch.accepted.count)
        publish(batch, jobs: jobs, connection: connection)
        var answered = batch.answers.makeIterator()
        for job in jobs {
            switch job {
            case .append(_, _, _, let completion):
                completion(.success(answered.next() ?? []))
            case .retention(_, let continuation):
                continuation.resume(returning: batch.removed)
            case .probe(let completion):
                completion(.success(()))
            case .acknowledge, .renameConsumer, .close:
                break
            }
        }
        return batch.closing
    }

    /// The transaction's statements for `jobs`, then the size check and the sequence reservation.
    private func write(
        _ jobs: [Job], into batch: inout CommitBatch, connection: SQLiteConnection, statements: WriterStatements
    ) throws {
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        for job in jobs {
            switch job {
            case .append(let events, let notes, _, _):
                try append(events, notes: notes, into: &batch, nowMs: nowMs, statements: statements)
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
                batch.removed += try retain(now: now, connection: connection)
                let forgotten = try statements.dedupe.expire(
                    beforeMs: Int64(now.timeIntervalSince1970 * 1000) - dedupeWindowMs, connection: connection)
                if forgotten > 0 { logger.debug("event log: \(forgotten) dedupe ids past the window forgotten") }
            case .probe:
                statements.probe.bind(1, nowMs)
                try statements.probe.run()
            case .close:
                batch.closing = true
            }
        }
        // Size is checked as the log grows, not only by the periodic pass: a fast publisher fills the disk between
        // two passes. The check costs three PRAGMAs, so it runs once per `sizeCheckBytes` appended.
        statements.uncheckedBytes += batch.appendedBytes
        if statements.uncheckedBytes >= sizeCheckBytes {
            statements.uncheckedBytes = 0
            batch.removed += try retainBySize(connection: connection)
        }
        // Sequences are reserved ahead, in this transaction; once it is committed, events up to the reservation
        // may go to live subscribers before their own commit is on disk.
        let (given, reserved) = queue.withLock { ($0.nextSequence - 1, $0.reservedThrough) }
        if given + Self.reserveMargin > reserved {
            let through = given + Self.reserveBlock
            batch.reserving = through
            statements.reserve.bind(1, Int64(through))
            try statements.reserve.run()
        }
    }

    /// One append job's events: a repeat of a dedupe key within the window is answered with the first event and
    /// not stored; the others are inserted, retained when their topic is, with their pickup and insight facts.
    private func append(
        _ events: [StoredEvent], notes: [DraftNotes]?, into batch: inout CommitBatch, nowMs: Int64,
        statements: WriterStatements
    ) throws {
        var answer: [StoredEvent] = []
        defer { batch.answers.append(answer) }
        for (index, event) in events.enumerated() {
            let key = notes?[index].dedupe
            if let key, let first = try statements.dedupe.sequence(for: key, sinceMs: nowMs - dedupeWindowMs) {
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
                if mayRetain(event.topic, besides: batch.newlyRetained) {
                    statements.retain.bind(1, event.topic)
                    statements.retain.bind(2, Int64(sequence))
                    try statements.retain.run()
                    batch.newlyRetained.append(event)
                } else {
                    batch.notRetained += 1
                }
            }
            batch.appendedBytes += event.body.count + event.topic.utf8.count
            if let fact = notes?[index].pickup {
                try statements.pickups.record(fact, sequence: sequence, nowMs: nowMs)
            }
            if let fact = notes?[index].insight {
                try statements.insights.record(fact, sequence: sequence, nowMs: nowMs)
            }
            batch.accepted.append(event)
        }
    }

    /// A transaction that failed and was rolled back: every request in it is refused with `error`.
    private func refuse(_ jobs: [Job], _ error: any Error) {
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
    }

    /// A commit's wall time, in /metrics (`commitTimer`) and in `stats`, counted together.
    private func record(commitNanoseconds nanoseconds: UInt64, events: Int) {
        let seconds = Double(nanoseconds) / 1e9
        commitStats.withLock { stats in
            commitTimer?.recordNanoseconds(Int64(clamping: nanoseconds))
            stats.commits += 1
            stats.events += UInt64(events)
            if stats.recentDurations.count >= 4096 { stats.recentDurations.removeFirst(1024) }
            stats.recentDurations.append(seconds)
            stats.durations.record(seconds)
        }
    }

    /// After the commit: the log's bounds and retained statuses follow it, live subscribers get the events, and
    /// what retention removed leaves the bounds and the retained cache.
    private func publish(_ batch: CommitBatch, jobs: [Job], connection: SQLiteConnection) {
        let accepted = batch.accepted
        if let last = accepted.last {
            bounds.withLock { bounds in
                if bounds.first > bounds.last { bounds.first = accepted[0].sequence }
                bounds.last = last.sequence
            }
        }
        if batch.notRetained > 0 {
            logger.warning(
                "event log: \(batch.notRetained) status events of new devices were not retained: log.maxRetainedTopics (\(settings.maxRetainedTopics)) devices have a retained status"
            )
        }
        if !batch.newlyRetained.isEmpty {
            retainedCache.withLock { cache in
                for event in batch.newlyRetained { cache[event.topic] = event }
            }
        }
        settleLive(jobs, answers: batch.answers, reserved: batch.reserving)
        if !accepted.isEmpty { listener.withLock { $0 }?.committed(accepted) }
        if batch.removed > 0 {
            let first = (try? connection.scalar("SELECT min(seq) FROM events")).flatMap { $0 }
            let oldest = bounds.withLock { bounds -> UInt64 in
                bounds.first = first.map { UInt64($0) } ?? bounds.last + 1
                return bounds.first
            }
            retainedCache.withLock { cache in cache = cache.filter { $0.value.sequence >= oldest } }
        }
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

/// The write connection and its statements, handed to the writer thread once at start.
struct WriterHandoff: @unchecked Sendable {
    // @unchecked: created on the opening thread, then used only by the writer thread it is handed to.
    let connection: SQLiteConnection
    let statements: WriterStatements
}

final class WriterStatements {
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
