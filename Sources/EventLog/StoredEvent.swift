/// An event to append: its topic and its CloudEvent JSON without `sequence`.
package struct EventDraft: Sendable {
    package var topic: String
    /// A JSON object, `{` first.
    package var body: [UInt8]
    /// The client's id for the event: a repeat within the dedupe window is answered with the first event.
    package var dedupe: DedupeKey?
    /// What the event means for a pickup, recorded with it in the same transaction.
    package var pickup: PickupFact?
    /// What the event counts for in the shop's insights, recorded with it in the same transaction.
    package var insight: InsightFact?

    package init(
        topic: String, body: [UInt8], dedupe: DedupeKey? = nil, pickup: PickupFact? = nil, insight: InsightFact? = nil
    ) {
        precondition(body.first == UInt8(ascii: "{"), "an event body is a JSON object")
        self.topic = topic
        self.body = body
        self.dedupe = dedupe
        self.pickup = pickup
        self.insight = insight
    }
}

/// What the writer needs of a draft besides its event.
struct DraftNotes: Sendable {
    var dedupe: DedupeKey?
    var pickup: PickupFact?
    var insight: InsightFact?

    init(_ draft: EventDraft) {
        dedupe = draft.dedupe
        pickup = draft.pickup
        insight = draft.insight
    }
}

/// An accepted event: committed to the log under `sequence`.
package struct StoredEvent: Sendable, Equatable {
    package var sequence: UInt64
    package var topic: String
    /// CloudEvent JSON without `sequence`.
    package var body: [UInt8]
    /// Only in an append's answer: the draft repeated a `DedupeKey` within the window, so nothing was stored and
    /// `sequence` is the first event's (`body` is the repeat's).
    package var duplicate = false

    package init(sequence: UInt64, topic: String, body: [UInt8]) {
        self.sequence = sequence
        self.topic = topic
        self.body = body
    }

    /// The event as delivered: the stored JSON with `"sequence"` spliced in first, without re-encoding.
    package var json: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 24)
        appendJSON(to: &out)
        return out
    }

    /// Appends the delivered form to `out`. It reserves no capacity itself: an exact reservation on a buffer that
    /// many events are appended to would copy the whole buffer for every event (quadratic); appends grow it
    /// geometrically.
    package func appendJSON(to out: inout [UInt8]) {
        out.append(contentsOf: #"{"sequence":"#.utf8)
        out.append(contentsOf: String(sequence).utf8)
        if body.count > 2 { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: body[1...])
    }
}
