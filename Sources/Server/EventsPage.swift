import EventLog
import HubCore

/// One page of `GET /api/v1/events`, built in one pass over the events with a bound on its bytes.
///
/// The body is `{"events":[...],"next":N,"truncated":B}`: `next` is where the following page starts (`after=N`),
/// `truncated` says that the byte bound, not `limit`, ended this page. The log is read a few events at a time, so
/// the hub holds at most one page plus one read's events, however large the events are.
package enum EventsPage {
    /// Bytes of events in one page; a page always holds at least one event, so a client always makes progress.
    package static let maxResponseBytes = 1 << 20
    /// Events read from the log at once.
    static let readChunk = 32

    package static func body(_ query: EventsQuery, log: EventLog) throws -> [UInt8] {
        var body = Array(#"{"events":["#.utf8)
        var count = 0
        var next = query.after
        var truncated = false
        reading: while count < query.limit {
            let want = min(query.limit - count, readChunk)
            let (events, scanned) = try log.read(after: next, matching: query.pattern, limit: want)
            for event in events {
                if count > 0 && body.count + event.body.count + 32 > maxResponseBytes {
                    truncated = true
                    break reading
                }
                if count > 0 { body.append(UInt8(ascii: ",")) }
                event.appendJSON(to: &body)
                count += 1
                next = event.sequence
            }
            if events.count < want {
                // The log ended or its scan limit was reached: with no event at all, skip what was scanned.
                if count == 0 { next = max(next, scanned) }
                break
            }
        }
        body.append(contentsOf: #"],"next":\#(next),"truncated":\#(truncated)}"#.utf8)
        return body
    }
}
