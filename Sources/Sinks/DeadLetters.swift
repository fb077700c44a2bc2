import Foundation
import HubCore
import SQLiteStore
import Synchronization

/// Events a sink gave up on, kept in the hub's database (`sink_dead_letters`) with the event itself, so they outlive
/// the log's retention and a restart.
///
/// Writes are rare (one per abandoned event), so this store has its own connection rather than a place in the
/// log's writer; SQLite's busy timeout settles the rare moment both write at once.
package final class DeadLetters: Sendable {
    /// One abandoned event.
    package struct Entry: Sendable, Equatable {
        package var sink: String
        package var sequence: UInt64
        package var topic: String
        package var attempts: Int
        package var lastError: String
        package var failedMs: Int64
        /// The event as the sink would have delivered it (JSON).
        package var event: [UInt8]
    }

    // The connection is used under the lock only.
    private let database: Mutex<SQLiteConnection>

    package init(path: String) throws(SQLiteError) {
        let connection = try SQLiteConnection(path: path)
        try connection.execute(
            """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=FULL;
            CREATE TABLE IF NOT EXISTS sink_dead_letters(
                sink TEXT NOT NULL,
                seq INTEGER NOT NULL,
                topic TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                last_error TEXT NOT NULL,
                failed_ms INTEGER NOT NULL,
                event BLOB NOT NULL,
                PRIMARY KEY(sink, seq));
            """)
        database = Mutex(connection)
    }

    /// Stores an abandoned event; returns once it is on disk. The same event twice (after a crash between this
    /// and the cursor moving on) is one entry.
    func add(_ entry: Entry) throws(SQLiteError) {
        try database.withLock { connection throws(SQLiteError) in
            let statement = try connection.prepare(
                """
                INSERT INTO sink_dead_letters(sink, seq, topic, attempts, last_error, failed_ms, event)
                VALUES(?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(sink, seq) DO UPDATE SET attempts = attempts + excluded.attempts,
                    last_error = excluded.last_error, failed_ms = excluded.failed_ms
                """)
            statement.bind(1, entry.sink)
            statement.bind(2, Int64(entry.sequence))
            statement.bind(3, entry.topic)
            statement.bind(4, Int64(entry.attempts))
            statement.bind(5, entry.lastError)
            statement.bind(6, entry.failedMs)
            statement.bind(7, bytes: entry.event)
            try statement.run()
        }
    }

    /// How many entries `sink` has, and the newest `limit` of them, newest first.
    package func list(sink: String, limit: Int) throws(SQLiteError) -> (count: Int, newest: [Entry]) {
        try database.withLock { connection throws(SQLiteError) -> (count: Int, newest: [Entry]) in
            let count = try connection.prepare("SELECT count(*) FROM sink_dead_letters WHERE sink = ?")
            count.bind(1, sink)
            _ = try count.step()
            let total = Int(count.int64(0))
            let rows = try connection.prepare(
                """
                SELECT seq, topic, attempts, last_error, failed_ms, event FROM sink_dead_letters
                WHERE sink = ? ORDER BY seq DESC LIMIT ?
                """)
            rows.bind(1, sink)
            rows.bind(2, Int64(limit))
            var entries: [Entry] = []
            while try rows.step() {
                entries.append(Self.entry(rows, sink: sink))
            }
            return (total, entries)
        }
    }

    /// Every entry of `sink`, oldest event first.
    func all(sink: String) throws(SQLiteError) -> [Entry] {
        try database.withLock { connection throws(SQLiteError) -> [Entry] in
            let rows = try connection.prepare(
                """
                SELECT seq, topic, attempts, last_error, failed_ms, event FROM sink_dead_letters
                WHERE sink = ? ORDER BY seq
                """)
            rows.bind(1, sink)
            var entries: [Entry] = []
            while try rows.step() {
                entries.append(Self.entry(rows, sink: sink))
            }
            return entries
        }
    }

    /// Removes `sink`'s entry for `sequence`, or all of its entries when `sequence` is nil. Returns how many went.
    @discardableResult
    func remove(sink: String, sequence: UInt64? = nil) throws(SQLiteError) -> Int {
        try database.withLock { connection throws(SQLiteError) -> Int in
            let statement = try connection.prepare(
                sequence == nil
                    ? "DELETE FROM sink_dead_letters WHERE sink = ?"
                    : "DELETE FROM sink_dead_letters WHERE sink = ? AND seq = ?")
            statement.bind(1, sink)
            if let sequence { statement.bind(2, Int64(sequence)) }
            try statement.run()
            return connection.changes
        }
    }

    /// The entry in the current row of a `SELECT seq, topic, attempts, last_error, failed_ms, event`.
    private static func entry(_ rows: SQLiteConnection.Statement, sink: String) -> Entry {
        Entry(
            sink: sink, sequence: UInt64(rows.int64(0)), topic: rows.text(1), attempts: Int(rows.int64(2)),
            lastError: rows.text(3), failedMs: rows.int64(4), event: rows.bytes(5))
    }
}
