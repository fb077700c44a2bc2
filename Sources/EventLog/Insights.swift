import Foundation
import HubCore
import SQLiteStore
import Synchronization

/// What an event counts for in the shop's insights, given by whoever drafted it (it has the parsed data) and
/// recorded by the writer in the same transaction, in small tables kept for `GET /api/v1/insights`: the insights
/// are then a few indexed lookups over hours, never a pass over the events.
package enum InsightFact: Sendable, Equatable {
    /// A scan on `device`, of payload class `label` ("" for none); `pickup` when it is a pickup code.
    case scan(device: String, label: String, pickup: Bool)
    /// A screen's answer to the scan with this sequence: `ok`, or a refusal (`error`, `warning`).
    case answer(scan: UInt64, ok: Bool)
    /// A shade tried on a mirror (`picture`: a snapshot of it), in a mirror session.
    case tryOn(device: String, session: String, sku: String, dwellSeconds: Double, picture: Bool)
}

/// The insight tables' statements on the writer's connection.
final class InsightStatements {
    static let schema = """
        CREATE TABLE IF NOT EXISTS insight_scans(
            hour INTEGER NOT NULL,
            device TEXT NOT NULL,
            label TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY(hour, device, label)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS insight_pickups(
            scan_seq INTEGER PRIMARY KEY,
            hour INTEGER NOT NULL,
            answer INTEGER);
        CREATE INDEX IF NOT EXISTS insight_pickups_hour ON insight_pickups(hour, answer);
        CREATE TABLE IF NOT EXISTS insight_visits(
            session TEXT PRIMARY KEY,
            hour INTEGER NOT NULL,
            device TEXT NOT NULL) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS insight_visits_hour ON insight_visits(hour);
        CREATE TABLE IF NOT EXISTS insight_tries(
            seq INTEGER PRIMARY KEY,
            hour INTEGER NOT NULL,
            sku TEXT NOT NULL,
            dwell REAL NOT NULL,
            picture INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS insight_tries_hour ON insight_tries(hour, sku, picture, dwell);
        CREATE INDEX IF NOT EXISTS insight_tries_sku ON insight_tries(sku, picture, dwell, hour);
        """

    private let scan: SQLiteConnection.Statement
    private let pickup: SQLiteConnection.Statement
    private let answer: SQLiteConnection.Statement
    private let visit: SQLiteConnection.Statement
    private let tryOn: SQLiteConnection.Statement

    init(_ connection: SQLiteConnection) throws(SQLiteError) {
        scan = try connection.prepare(
            """
            INSERT INTO insight_scans(hour, device, label, count) VALUES(?, ?, ?, 1)
            ON CONFLICT(hour, device, label) DO UPDATE SET count = count + 1
            """)
        pickup = try connection.prepare(
            "INSERT OR IGNORE INTO insight_pickups(scan_seq, hour, answer) VALUES(?, ?, NULL)")
        // The first answer to a scan counts.
        answer = try connection.prepare("UPDATE insight_pickups SET answer = ? WHERE scan_seq = ? AND answer IS NULL")
        visit = try connection.prepare("INSERT OR IGNORE INTO insight_visits(session, hour, device) VALUES(?, ?, ?)")
        tryOn = try connection.prepare(
            "INSERT INTO insight_tries(seq, hour, sku, dwell, picture) VALUES(?, ?, ?, ?, ?)")
    }

    func record(_ fact: InsightFact, sequence: UInt64, nowMs: Int64) throws(SQLiteError) {
        let hour = nowMs / 3_600_000
        switch fact {
        case .scan(let device, let label, let isPickup):
            scan.bind(1, hour)
            scan.bind(2, device)
            scan.bind(3, label)
            try scan.run()
            if isPickup {
                pickup.bind(1, Int64(sequence))
                pickup.bind(2, hour)
                try pickup.run()
            }
        case .answer(let scanSequence, let ok):
            answer.bind(1, Int64(ok ? 1 : 0))
            answer.bind(2, Int64(scanSequence))
            try answer.run()
        case .tryOn(let device, let session, let sku, let dwell, let picture):
            visit.bind(1, session)
            visit.bind(2, hour)
            visit.bind(3, device)
            try visit.run()
            tryOn.bind(1, Int64(sequence))
            tryOn.bind(2, hour)
            tryOn.bind(3, sku)
            tryOn.bind(4, dwell)
            tryOn.bind(5, Int64(picture ? 1 : 0))
            try tryOn.run()
        }
    }
}

/// The shop's insights over a range of hours, as `GET /api/v1/insights` serves them.
package struct Insights: Sendable, Equatable {
    /// One hour (its start, Unix ms) and what happened in it.
    package struct Hour: Sendable, Equatable {
        package var startMs: Int64
        /// Scans by device, then by payload class ("" for none).
        package var scans: [String: [String: Int]] = [:]
        package var pickupsOK = 0
        package var pickupsRefused = 0
        package var pickupsUnanswered = 0
        package var mirrorVisits = 0
    }

    /// A shade among the most tried.
    package struct Shade: Sendable, Equatable {
        package var sku: String
        package var tried: Int
        package var medianDwellSeconds: Double?
        package var pictures: Int
    }

    package var hours: [Hour]
    package var shades: [Shade]
}

extension EventLog {
    /// The insights of the hours that overlap `fromMs..<toMs` (Unix ms), hours without anything left out.
    package func insights(fromMs: Int64, toMs: Int64, topShades: Int = 10) throws -> Insights {
        try reader.withLock {
            try $0.insights(fromHour: fromMs / 3_600_000, toHour: (toMs - 1) / 3_600_000, topShades: topShades)
        }
    }
}

extension Reader {
    func insights(fromHour: Int64, toHour: Int64, topShades: Int) throws(SQLiteError) -> Insights {
        var hours: [Int64: Insights.Hour] = [:]
        func hour(_ value: Int64) -> Insights.Hour { hours[value] ?? Insights.Hour(startMs: value * 3_600_000) }

        let scans = try connection.prepare(
            "SELECT hour, device, label, count FROM insight_scans WHERE hour BETWEEN ? AND ?")
        scans.bind(1, fromHour)
        scans.bind(2, toHour)
        while try scans.step() {
            let key = scans.int64(0)
            var entry = hour(key)
            entry.scans[scans.text(1), default: [:]][scans.text(2)] = Int(scans.int64(3))
            hours[key] = entry
        }
        let pickups = try connection.prepare(
            "SELECT hour, answer, count(*) FROM insight_pickups WHERE hour BETWEEN ? AND ? GROUP BY hour, answer")
        pickups.bind(1, fromHour)
        pickups.bind(2, toHour)
        while try pickups.step() {
            let key = pickups.int64(0)
            var entry = hour(key)
            let count = Int(pickups.int64(2))
            if pickups.isNull(1) {
                entry.pickupsUnanswered += count
            } else if pickups.int64(1) == 1 {
                entry.pickupsOK += count
            } else {
                entry.pickupsRefused += count
            }
            hours[key] = entry
        }
        let visits = try connection.prepare(
            "SELECT hour, count(*) FROM insight_visits WHERE hour BETWEEN ? AND ? GROUP BY hour")
        visits.bind(1, fromHour)
        visits.bind(2, toHour)
        while try visits.step() {
            let key = visits.int64(0)
            var entry = hour(key)
            entry.mirrorVisits = Int(visits.int64(1))
            hours[key] = entry
        }
        let top = try connection.prepare(
            """
            SELECT sku, sum(picture = 0) AS tried, sum(picture) FROM insight_tries WHERE hour BETWEEN ? AND ?
            GROUP BY sku ORDER BY tried DESC, sku LIMIT ?
            """)
        top.bind(1, fromHour)
        top.bind(2, toHour)
        top.bind(3, Int64(topShades))
        var shades: [Insights.Shade] = []
        while try top.step() {
            shades.append(
                Insights.Shade(
                    sku: top.text(0), tried: Int(top.int64(1)), medianDwellSeconds: nil, pictures: Int(top.int64(2))))
        }
        let median = try connection.prepare(
            """
            SELECT dwell FROM insight_tries WHERE hour BETWEEN ? AND ? AND sku = ? AND picture = 0
            ORDER BY dwell LIMIT 1 OFFSET ?
            """)
        for index in shades.indices where shades[index].tried > 0 {
            median.reset()
            median.bind(1, fromHour)
            median.bind(2, toHour)
            median.bind(3, shades[index].sku)
            median.bind(4, Int64((shades[index].tried - 1) / 2))
            if try median.step() { shades[index].medianDwellSeconds = median.double(0) }
        }
        return Insights(hours: hours.keys.sorted().map { hours[$0]! }, shades: shades)
    }
}
