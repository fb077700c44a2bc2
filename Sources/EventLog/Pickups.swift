import SQLiteStore
import Synchronization

/// What an event means for a pickup order, recorded beside it in the same transaction so that "was this order
/// handed over?" is one indexed lookup, not a scan of the log.
package enum PickupFact: Sendable, Equatable {
    /// A scan of a genuine signed pickup code for this order.
    case scanned(orderID: String)
    /// An `ok` answer on `display.*` to the scan with this sequence: the order that scan named is handed over.
    case handedOver(scan: UInt64)
}

/// The pickup tables' statements on the writer's connection.
final class PickupStatements {
    static let schema = """
        CREATE TABLE IF NOT EXISTS pickup_scans(
            seq INTEGER PRIMARY KEY,
            order_id TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS pickups_collected(
            order_id TEXT PRIMARY KEY,
            scan_seq INTEGER NOT NULL,
            answer_seq INTEGER NOT NULL,
            collected_ms INTEGER NOT NULL) WITHOUT ROWID;
        """

    private let scanned: SQLiteConnection.Statement
    private let handedOver: SQLiteConnection.Statement

    init(_ connection: SQLiteConnection) throws(SQLiteError) {
        scanned = try connection.prepare("INSERT OR REPLACE INTO pickup_scans(seq, order_id) VALUES(?, ?)")
        // The first handover counts; a later ok answer for the same order changes nothing.
        handedOver = try connection.prepare(
            """
            INSERT OR IGNORE INTO pickups_collected(order_id, scan_seq, answer_seq, collected_ms)
            SELECT order_id, seq, ?, ? FROM pickup_scans WHERE seq = ?
            """)
    }

    func record(_ fact: PickupFact, sequence: UInt64, nowMs: Int64) throws(SQLiteError) {
        switch fact {
        case .scanned(let orderID):
            scanned.bind(1, Int64(sequence))
            scanned.bind(2, orderID)
            try scanned.run()
        case .handedOver(let scan):
            handedOver.bind(1, Int64(sequence))
            handedOver.bind(2, nowMs)
            handedOver.bind(3, Int64(scan))
            try handedOver.run()
        }
    }
}

extension EventLog {
    /// Whether an `ok` answer was committed for a scan of `orderID`. Pending appends are not seen.
    package func isCollected(orderID: String) throws -> Bool {
        try reader.withLock { try $0.isCollected(orderID: orderID) }
    }
}

extension Reader {
    func isCollected(orderID: String) throws(SQLiteError) -> Bool {
        let statement = try connection.prepare("SELECT 1 FROM pickups_collected WHERE order_id = ?")
        statement.bind(1, orderID)
        return try statement.step()
    }
}
