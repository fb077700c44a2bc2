import CSQLite
import Foundation

/// An SQLite failure: the result code, SQLite's message and what StoreHub was doing.
package struct SQLiteError: Error, Sendable, CustomStringConvertible {
    package var code: Int32
    package var message: String
    package var context: String

    package var description: String { "\(context): \(message) (SQLite code \(code))" }
}

/// One SQLite connection.
///
/// Not thread-safe by itself: an owner uses it from one thread at a time (the log's writer thread, or
/// callers holding the owner's lock). `deinit` finalizes nothing: statements are finalized by their owners.
package final class SQLiteConnection {
    private let handle: OpaquePointer
    package let path: String

    package init(path: String, readOnly: Bool = false) throws(SQLiteError) {
        var db: OpaquePointer?
        let flags =
            (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw SQLiteError(code: rc, message: message, context: "opening \(path)")
        }
        handle = db
        self.path = path
        sqlite3_busy_timeout(db, 5000)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs one or more statements that return no rows.
    package func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            throw SQLiteError(code: rc, message: text, context: "running \(sql.prefix(60))")
        }
    }

    package func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), context: "preparing \(sql)")
        }
        return Statement(handle: statement, connection: self)
    }

    /// The first column of the first row of `sql`, as an integer.
    package func scalar(_ sql: String) throws(SQLiteError) -> Int64? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.isNull(0) ? nil : statement.int64(0)
    }

    package var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    package var changes: Int { Int(sqlite3_changes(handle)) }

    /// Copies what it can of the write-ahead log into the database without waiting for readers or the writer
    /// (a passive checkpoint). Returns the frames in the log and how many of them are now in the database.
    @discardableResult
    package func checkpoint() throws(SQLiteError) -> (frames: Int, copied: Int) {
        var frames: Int32 = 0
        var copied: Int32 = 0
        let rc = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied)
        guard rc == SQLITE_OK else { throw error(rc, "checkpointing the write-ahead log") }
        return (Int(frames), Int(copied))
    }

    /// Calls `hook` after every commit with the number of frames in the write-ahead log; when it answers true,
    /// runs a passive checkpoint on this connection right there, before the commit returns. Replaces SQLite's
    /// own automatic checkpoint.
    package func onWALCommit(_ hook: WALHook) {
        sqlite3_wal_hook(
            handle,
            { context, db, _, frames in
                guard let context else { return SQLITE_OK }
                if Unmanaged<WALHook>.fromOpaque(context).takeUnretainedValue().body(Int(frames)) {
                    return sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
                }
                return SQLITE_OK
            }, Unmanaged.passUnretained(hook).toOpaque())
    }

    /// What `onWALCommit` calls; the caller keeps it alive as long as the connection.
    package final class WALHook {
        let body: (Int) -> Bool

        package init(_ body: @escaping (Int) -> Bool) { self.body = body }
    }

    fileprivate func error(_ rc: Int32, _ context: String) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), context: context)
    }

    /// A prepared statement, reused across executions; finalized with its owner.
    package final class Statement {
        private let handle: OpaquePointer
        private let connection: SQLiteConnection

        fileprivate init(handle: OpaquePointer, connection: SQLiteConnection) {
            self.handle = handle
            self.connection = connection
        }

        deinit { sqlite3_finalize(handle) }

        package func reset() {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }

        package func bind(_ index: Int32, _ value: Int64) {
            sqlite3_bind_int64(handle, index, value)
        }

        /// Binds text with its byte length, so a NUL inside `value` is kept rather than ending it.
        package func bind(_ index: Int32, _ value: String) {
            var value = value
            value.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) { text in
                    // An empty string's buffer may have no address; SQLite then binds NULL, so bind "" instead.
                    guard let base = text.baseAddress else {
                        _ = storehub_sqlite3_bind_text_transient(handle, index, "", 0)
                        return
                    }
                    _ = storehub_sqlite3_bind_text_transient(handle, index, base, Int32(text.count))
                }
            }
        }

        package func bind(_ index: Int32, _ value: Double) {
            sqlite3_bind_double(handle, index, value)
        }

        package func bindNull(_ index: Int32) {
            sqlite3_bind_null(handle, index)
        }

        package func bind(_ index: Int32, bytes: [UInt8]) {
            bytes.withUnsafeBytes { raw in
                _ = storehub_sqlite3_bind_blob_transient(handle, index, raw.baseAddress, Int32(raw.count))
            }
        }

        /// Advances; true when a row is available.
        package func step() throws(SQLiteError) -> Bool {
            let rc = sqlite3_step(handle)
            switch rc {
            case SQLITE_ROW: return true
            case SQLITE_DONE: return false
            default:
                let sql = sqlite3_sql(handle).map { String(cString: $0) } ?? "statement"
                throw connection.error(rc, "running \(sql.prefix(60))")
            }
        }

        /// Runs to completion, ignoring rows, and resets for the next use.
        package func run() throws(SQLiteError) {
            defer { reset() }
            while try step() {}
        }

        package func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
        package func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
        package func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }

        /// The column's text, all of its bytes (a NUL inside does not end it).
        package func text(_ column: Int32) -> String {
            guard let pointer = sqlite3_column_text(handle, column) else { return "" }
            let count = Int(sqlite3_column_bytes(handle, column))
            return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
        }

        package func bytes(_ column: Int32) -> [UInt8] {
            let count = Int(sqlite3_column_bytes(handle, column))
            guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
            return Array(UnsafeRawBufferPointer(start: pointer, count: count))
        }
    }
}
