import HubCore
import SQLiteStore

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
