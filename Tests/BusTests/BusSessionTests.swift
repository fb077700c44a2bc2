import Bus
import Config
import EventLog
import Foundation
import HubCore
import StoreHubTestSupport
import Testing

/// Drains a session into decoded JSON messages.
func messages(_ session: BusSession, max: Int = 1000) throws -> [JSONValue] {
    try session.drain(max: max).compactMap { item in
        guard case .message(let bytes) = item else { return nil }
        return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }
}

func ops(_ values: [JSONValue]) -> [String] { values.compactMap { $0["op"]?.stringValue } }

@Suite struct BusSessionTests {
    @Test func sessionGreetsAndRefusesEverythingBeforeAuth() throws {
        let fixture = try BusFixture()
        let session = fixture.session()
        session.receive(#"{"op":"subscribe","id":"s","topic":"scan.>"}"#)
        let sent = try messages(session)
        #expect(ops(sent) == ["hello", "error"])
        #expect(sent[0]["authenticated"] == .bool(false))
        #expect(sent[1]["code"] == .string("unauthenticated"))
    }

    @Test func wrongTokenGetsAnErrorThenClose4401() throws {
        let fixture = try BusFixture()
        let session = fixture.session(token: "shb_00000000_" + String(repeating: "A", count: 43))
        let items = session.drain()
        #expect(items.count == 2)
        #expect(session.drain() == [.close(code: 4401, reason: "authentication failed")])
    }

    @Test func malformedJSONAndUnknownOpsAreErrorsThatKeepTheSessionOpen() throws {
        let fixture = try BusFixture()
        let session = fixture.session(token: fixture.admin)
        _ = try messages(session)
        session.receive("{not json")
        session.receive(#"{"op":"teleport"}"#)
        session.receive(#"["op","ping"]"#)
        session.receive(#"{"op":"ping","ref":7}"#)
        let sent = try messages(session)
        #expect(
            sent.map { $0["code"]?.stringValue ?? $0["op"]!.stringValue! } == [
                "bad_json", "unknown_op", "bad_request", "pong",
            ])
        #expect(sent[3]["ref"] == .int(7))
    }

    @Test func liveSubscriberReceivesMatchingCommittedEventsOnly() async throws {
        let fixture = try BusFixture()
        let session = fixture.session(token: fixture.service)
        session.receive(#"{"op":"subscribe","id":"scans","topic":"scan.*"}"#)
        _ = try messages(session)
        _ = try await fixture.publish("scan.kiosk-1", count: 2)
        _ = try await fixture.publish("mirror.command.m", count: 1)
        let sent = try messages(session)
        #expect(ops(sent) == ["event", "event"])
        #expect(sent.map { $0["event"]?["sequence"] } == [.int(1), .int(2)])
        #expect(sent[0]["sub"] == .string("scans"))
    }

    @Test func fullLiveBufferDropsTheOldestAndSaysHowMany() async throws {
        let fixture = try BusFixture(settings: .init(liveBuffer: 4))
        let session = fixture.session(token: fixture.admin)
        session.receive(#"{"op":"subscribe","id":"all","topic":">"}"#)
        _ = try messages(session)
        _ = try await fixture.publish("scan.k", count: 10)
        let sent = try messages(session)
        #expect(ops(sent) == ["dropped", "event", "event", "event", "event"])
        #expect(sent[0]["count"] == .int(6))
        #expect(sent.dropFirst().map { $0["event"]?["sequence"] } == [.int(7), .int(8), .int(9), .int(10)])
    }

    @Test func serviceRoleMayNotSubscribeToEverythingNorPublish() throws {
        let fixture = try BusFixture()
        let session = fixture.session(token: fixture.service)
        session.receive(#"{"op":"subscribe","id":"all","topic":">"}"#)
        session.receive(#"{"op":"publish","topic":"scan.k","type":"x"}"#)
        let sent = try messages(session)
        #expect(sent.dropFirst(2).map { $0["code"] } == [.string("forbidden"), .string("forbidden")])
    }

    @Test func durableConsumerRespectsItsWindowAndResumesAfterItsAck() async throws {
        let fixture = try BusFixture()
        _ = try await fixture.publish("scan.k", count: 10)
        let first = fixture.session(token: fixture.admin)
        first.receive(#"{"op":"subscribe","id":"d","topic":"scan.>","durable":"orders","window":3}"#)
        var sent = try messages(first)
        #expect(ops(sent).suffix(4) == ["subscribed", "event", "event", "event"])
        #expect(sent.last?["event"]?["sequence"] == .int(3))
        #expect(try messages(first).isEmpty, "nothing beyond the window before an ack")
        first.receive(#"{"op":"ack","durable":"orders","sequence":2}"#)
        sent = try messages(first)
        #expect(sent.map { $0["event"]?["sequence"] } == [.int(4), .int(5)])
        first.close()

        let second = fixture.session(token: fixture.admin)
        second.receive(#"{"op":"subscribe","id":"d","topic":"scan.>","durable":"orders","window":100}"#)
        sent = try messages(second)
        let subscribed = try #require(sent.first { $0["op"] == .string("subscribed") })
        #expect(subscribed["from"] == .int(3))
        #expect(sent.compactMap { $0["event"]?["sequence"]?.intValue } == Array(3...10))
    }

    @Test func ackOfASequenceNeverDeliveredIsRefused() async throws {
        let fixture = try BusFixture()
        _ = try await fixture.publish("scan.k", count: 3)
        let session = fixture.session(token: fixture.admin)
        session.receive(#"{"op":"subscribe","id":"d","topic":"scan.>","durable":"orders","window":1}"#)
        _ = try messages(session)
        session.receive(#"{"op":"ack","durable":"orders","sequence":3}"#)
        let sent = try messages(session)
        #expect(sent.first?["code"] == .string("bad_request"))
        #expect(fixture.log.cursor(for: "orders") == nil)
    }

    @Test func newSubscriptionTakesADurableNameOverFromAStaleConnection() async throws {
        let fixture = try BusFixture()
        let stale = fixture.session(token: fixture.admin)
        stale.receive(#"{"op":"subscribe","id":"d","topic":"scan.>","durable":"orders"}"#)
        _ = try messages(stale)
        let fresh = fixture.session(token: fixture.admin)
        fresh.receive(#"{"op":"subscribe","id":"d","topic":"scan.>","durable":"orders"}"#)
        _ = try messages(fresh)
        #expect(try messages(stale).first?["code"] == .string("taken_over"))
        _ = try await fixture.publish("scan.k", count: 1)
        #expect(try messages(stale).isEmpty)
        #expect(ops(try messages(fresh)) == ["event"])
    }

    @Test func durableConsumerBehindRetentionIsToldOfTheGap() async throws {
        let fixture = try BusFixture()
        _ = try await fixture.publish("scan.k", count: 5)
        let session = fixture.session(token: fixture.admin)
        // Simulate a cursor that fell off: start from a sequence below the oldest retained one.
        _ = try await fixture.log.applyRetention(now: Date().addingTimeInterval(400 * 3600))
        _ = try await fixture.publish("scan.k", count: 2)
        session.receive(#"{"op":"subscribe","id":"d","topic":"scan.>","durable":"late","from":1}"#)
        let sent = try messages(session)
        let gap = try #require(sent.first { $0["op"] == .string("gap") })
        #expect(gap["from"] == .int(1))
        #expect(gap["to"] == .int(5))
        #expect(sent.compactMap { $0["event"]?["sequence"]?.intValue } == [6, 7])
    }

    @Test func publishIsAnsweredOnlyAfterCommitWithItsSequence() async throws {
        let fixture = try BusFixture()
        let session = fixture.session(token: fixture.admin)
        _ = try messages(session)
        session.receive(
            #"{"op":"publish","topic":"mirror.command.m1","type":"storehub.mirror.select","data":{"select":"SKU-1"},"ref":"r1"}"#
        )
        var reply: JSONValue?
        for _ in 0..<200 where reply == nil {
            reply = try messages(session).first
            if reply == nil { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(reply?["op"] == .string("published"))
        #expect(reply?["ref"] == .string("r1"))
        let sequence = try #require(reply?["sequence"]?.intValue)
        let (events, _) = try fixture.log.read(after: UInt64(sequence - 1), limit: 1)
        let stored = try JSONDecoder().decode(JSONValue.self, from: Data(events[0].json))
        #expect(stored["data"]?["select"] == .string("SKU-1"))
        #expect(stored["subject"] == .string("mirror.command.m1"))
    }

    @Test func liveSubscriptionToStatusGetsTheRetainedStatusFirst() async throws {
        let fixture = try BusFixture()
        _ = try await fixture.publish("device.status.kiosk-1", count: 2)
        _ = try await fixture.publish("device.status.kiosk-2", count: 1)
        let session = fixture.session(token: fixture.admin)
        session.receive(#"{"op":"subscribe","id":"st","topic":"device.status.>"}"#)
        let sent = try messages(session)
        #expect(sent.compactMap { $0["event"]?["sequence"]?.intValue } == [2, 3])
    }
}
