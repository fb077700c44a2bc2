import SQLiteStore

/// A client's own id for an event, scoped to the token that sent it: within the log's dedupe window
/// (`log.dedupeWindowHours`) a second append with the same key is not stored again; the append answers with the
/// first event's sequence instead. The keys live in the database, so a client that retries after a hub restart is
/// answered the same way.
package struct DedupeKey: Sendable, Hashable {
    /// Whose ids these are: the token's public id.
    package var scope: String
    package var id: String

    package init(scope: String, id: String) {
        self.scope = scope
        self.id = id
    }

    /// What an id may be, for error messages.
    package static let idRule = "must be 1 to 128 characters of letters, digits and - _ . : / @"

    /// 1 to 128 of `A-Z a-z 0-9 - _ . : / @`: UUIDs, ULIDs and order-service keys, nothing that needs escaping.
    package static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128
            && id.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                    || [
                        UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"),
                        UInt8(ascii: "/"), UInt8(ascii: "@"),
                    ].contains(c)
            }
    }
}

/// The dedupe table's statements on the writer's connection.
final class DedupeStatements {
    static let schema = """
        CREATE TABLE IF NOT EXISTS dedupe(
            scope TEXT NOT NULL,
            id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            created_ms INTEGER NOT NULL,
            PRIMARY KEY(scope, id)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS dedupe_created ON dedupe(created_ms);
        """

    private let find: SQLiteConnection.Statement
    private let record: SQLiteConnection.Statement
    private let expire: SQLiteConnection.Statement

    init(_ connection: SQLiteConnection) throws(SQLiteError) {
        find = try connection.prepare("SELECT seq FROM dedupe WHERE scope = ? AND id = ? AND created_ms >= ?")
        record = try connection.prepare(
            """
            INSERT INTO dedupe(scope, id, seq, created_ms) VALUES(?, ?, ?, ?)
            ON CONFLICT(scope, id) DO UPDATE SET seq = excluded.seq, created_ms = excluded.created_ms
            """)
        expire = try connection.prepare("DELETE FROM dedupe WHERE created_ms < ?")
    }

    /// The sequence of the event first appended under `key` since `sinceMs`, if there was one.
    func sequence(for key: DedupeKey, sinceMs: Int64) throws(SQLiteError) -> UInt64? {
        defer { find.reset() }
        find.bind(1, key.scope)
        find.bind(2, key.id)
        find.bind(3, sinceMs)
        return try find.step() ? UInt64(find.int64(0)) : nil
    }

    func record(_ key: DedupeKey, sequence: UInt64, nowMs: Int64) throws(SQLiteError) {
        record.bind(1, key.scope)
        record.bind(2, key.id)
        record.bind(3, Int64(sequence))
        record.bind(4, nowMs)
        try record.run()
    }

    /// Forgets keys older than `beforeMs`; returns how many.
    func expire(beforeMs: Int64, connection: SQLiteConnection) throws(SQLiteError) -> Int {
        expire.bind(1, beforeMs)
        try expire.run()
        return connection.changes
    }
}
