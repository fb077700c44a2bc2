import Bus
import Config
import EventLog
import Foundation
import HubCore
import Server
import StoreHubTestSupport
import Testing

/// What the lowest-rights tokens tried in the review: fake topics, other owners' consumers, floods.
@Suite struct BusAbuseTests {
    func deviceToken(_ fixture: BusFixture, _ device: String) throws -> String {
        try fixture.tokens.create(role: .device, label: "test", device: try DeviceID(validating: device)).token
    }

    @Test func aTopicWithANulIsRefusedAndNeverBecomesAnotherDevicesStatus() async throws {
        let fixture = try BusFixture()
        let session = fixture.session(token: try deviceToken(fixture, "dev1"))
        session.receive(
            #"{"op":"publish","topic":"device.status.mirror-1\u0000.dev1","type":"x","data":{"state":"online"},"ref":"nul"}"#
        )
        session.receive(#"{"op":"subscribe","id":"s","topic":"mirror.command.dev1\u0000"}"#)
        let sent = try messages(session)
        #expect(ops(sent) == ["hello", "authenticated", "error", "error"])
        #expect(sent[2]["code"] == .string("bad_request") && sent[2]["ref"] == .string("nul"))
        #expect(sent[3]["code"] == .string("bad_request"))
        #expect(fixture.log.sequenceBounds.last == 0)
        #expect(fixture.log.retainedEvents().isEmpty)
    }

    @Test func aDeviceTokenMayNotPublishAStatusForAnotherDevice() throws {
        let fixture = try BusFixture()
        let session = fixture.session(token: try deviceToken(fixture, "dev1"))
        session.receive(#"{"op":"publish","topic":"device.status.mirror-1.dev1","type":"x","data":{}}"#)
        let sent = try messages(session)
        #expect(sent.last?["code"] == .string("forbidden"))
    }

    @Test func aStatusEventOverTheRetainedSizeIsRefused() throws {
        let fixture = try BusFixture(settings: .init(maxRetainedEventBytes: 1024))
        let session = fixture.session(token: try deviceToken(fixture, "dev1"))
        let pad = String(repeating: "x", count: 2000)
        session.receive(#"{"op":"publish","topic":"device.status.dev1","type":"x","data":"\#(pad)"}"#)
        let sent = try messages(session)
        #expect(sent.last?["code"] == .string("too_large"))
    }

    @Test func retainedStatusesAreSentPacedWithoutClosingTheSubscriber() async throws {
        let limit = 65536
        let fixture = try BusFixture(settings: .init(maxQueuedBytesPerConnection: limit))
        let body = Array(#"{"pad":"\#(String(repeating: "x", count: 3990))"}"#.utf8)
        // 100 devices' statuses of 4 KB: six times what the connection may hold unread.
        _ = try await fixture.log.append((0..<100).map { EventDraft(topic: "device.status.d\($0)", body: body) })
        let session = fixture.session(token: fixture.admin)
        session.receive(#"{"op":"subscribe","id":"status","topic":"device.status.>"}"#)
        var events = 0
        var rounds = 0
        while rounds < 1000 {
            rounds += 1
            let batch = session.drain()
            guard !batch.isEmpty else { break }
            #expect(session.queuedBytes <= limit)
            var bytes = 0
            for item in batch {
                switch item {
                case .message(let message):
                    bytes += message.count
                    if message.starts(with: Array(#"{"op":"event""#.utf8)) { events += 1 }
                case .close(let code, _):
                    Issue.record("the subscriber was closed with \(code)")
                }
            }
            // The writer wrote the batch.
            session.sent(bytes)
        }
        #expect(events == 100)
        #expect(session.principal != nil)
    }

    @Test func retainedStatusesComeBeforeLiveOnesOfTheSameSubscription() async throws {
        let fixture = try BusFixture()
        _ = try await fixture.log.append(EventDraft(topic: "device.status.a", body: Array(#"{"n":1}"#.utf8)))
        let session = fixture.session(token: fixture.admin)
        session.receive(#"{"op":"subscribe","id":"status","topic":"device.status.>"}"#)
        _ = try await fixture.log.append(EventDraft(topic: "device.status.a", body: Array(#"{"n":2}"#.utf8)))
        let sequences = try messages(session).filter { $0["op"] == .string("event") }.map {
            $0["event"]?["sequence"]
        }
        #expect(sequences == [.int(1), .int(2)])
    }

    @Test func aDeviceTokenUsingAServicesConsumerNameDoesNotTakeItOver() async throws {
        let fixture = try BusFixture()
        let service = fixture.session(token: fixture.service)
        service.receive(#"{"op":"subscribe","id":"orders","topic":"scan.>","durable":"order-service"}"#)
        _ = try messages(service)
        let device = fixture.session(token: try deviceToken(fixture, "dev1"))
        device.receive(#"{"op":"subscribe","id":"x","topic":"mirror.command.dev1","durable":"order-service"}"#)
        #expect(ops(try messages(device)).last == "subscribed")
        _ = try await fixture.publish("scan.k", count: 1)
        let got = try messages(service)
        #expect(!got.contains { $0["code"] == .string("taken_over") })
        #expect(ops(got) == ["event"])
        service.receive(#"{"op":"ack","durable":"order-service","sequence":1}"#)
        #expect(fixture.log.cursor(for: "service/order-service") == 1)
        #expect(fixture.log.cursor(for: "device.dev1/order-service") == nil)
    }

    @Test func aServiceTokenCannotMoveTheUplinksCursor() async throws {
        let fixture = try BusFixture()
        _ = try await fixture.publish("scan.k", count: 5)
        fixture.log.acknowledge(consumer: "uplink", sequence: 2)
        let service = fixture.session(token: fixture.service)
        service.receive(#"{"op":"subscribe","id":"u","topic":"scan.>","durable":"uplink","from":1}"#)
        _ = try messages(service)
        service.receive(#"{"op":"ack","durable":"uplink","sequence":5}"#)
        #expect(fixture.log.cursor(for: "uplink") == 2)
        #expect(fixture.log.cursor(for: "service/uplink") == 5)
    }

    @Test func aCursorFromBeforeOwnersMovesToTheFirstServiceThatAsksForIt() async throws {
        let fixture = try BusFixture()
        _ = try await fixture.publish("scan.k", count: 5)
        fixture.log.acknowledge(consumer: "order-service", sequence: 3)
        let service = fixture.session(token: fixture.service)
        service.receive(#"{"op":"subscribe","id":"o","topic":"scan.>","durable":"order-service"}"#)
        let sent = try messages(service)
        #expect(sent.first { $0["op"] == .string("subscribed") }?["from"] == .int(4))
        #expect(fixture.log.cursor(for: "order-service") == nil)
    }

    @Test func anOwnerMayCreateOnlySoManyConsumers() throws {
        let fixture = try BusFixture(settings: .init(maxConsumersPerOwner: 2))
        let session = fixture.session(token: fixture.service)
        for name in ["a", "b", "c"] {
            session.receive(
                #"{"op":"subscribe","id":"\#(name)","topic":"scan.>","durable":"\#(name)","ref":"\#(name)"}"#)
            session.receive(#"{"op":"ack","durable":"\#(name)","sequence":0}"#)
        }
        let sent = try messages(session)
        let refused = sent.filter { $0["code"] == .string("too_many_consumers") }
        #expect(refused.map { $0["ref"] } == [.string("c")])
    }

    @Test func controlOperationsAreRateLimitedPerConnection() throws {
        let fixture = try BusFixture(settings: .init(controlRatePerConnection: 0.01, controlBurst: 10))
        let session = fixture.session(token: fixture.admin)
        for index in 0..<30 { session.receive(#"{"op":"ping","ref":\#(index)}"#) }
        let sent = try messages(session)
        #expect(ops(sent).filter { $0 == "pong" }.count == 10)
        #expect(sent.filter { $0["code"] == .string("rate_limited") }.count == 20)
        #expect(session.principal != nil)
    }

    @Test func aDeviceTokensBytesPerSecondAreBudgeted() throws {
        let fixture = try BusFixture(
            settings: .init(maxMessageBytes: 4096, publishBytesPerSecond: 1 << 20, devicePublishBytesPerSecond: 1024))
        let session = fixture.session(token: try deviceToken(fixture, "dev1"))
        let pad = String(repeating: "x", count: 3000)
        for index in 0..<5 {
            session.receive(
                #"{"op":"publish","topic":"scan.dev1","type":"x","data":"\#(pad)","ref":\#(index)}"#)
        }
        let refused = try messages(session).filter { $0["code"] == .string("rate_limited") }
        // A burst of four seconds (4096 bytes, one largest message) lets one 3 KB event through.
        #expect(refused.count == 4)
        #expect(refused.first?["message"]?.stringValue?.contains("bus.devicePublishBytesPerSecond") == true)
    }

    @Test func aRefusedSessionHandlesNothingItSentBeforeReadingItsClose() async throws {
        let fixture = try BusFixture()
        let session = fixture.session()
        session.refuseOrigin("origin not allowed")
        session.receive(#"{"op":"auth","token":"\#(fixture.admin)"}"#)
        session.receive(#"{"op":"publish","topic":"scan.k","type":"x","data":{}}"#)
        #expect(session.principal == nil)
        #expect(!ops(try messages(session)).contains("authenticated"))
        try await Task.sleep(for: .milliseconds(100))
        #expect(fixture.log.sequenceBounds.last == 0)
    }

    @Test func publishersOutsideTheBusTakeTheSameRateAndByteBudget() throws {
        let fixture = try BusFixture(settings: .init(publishRatePerToken: 0.01, publishBurst: 3))
        let uplink = Principal(tokenID: "uplink", role: .staff)
        for _ in 0..<3 { #expect(fixture.bus.admitPublish(by: uplink, bytes: 100) == nil) }
        #expect(fixture.bus.admitPublish(by: uplink, bytes: 100) != nil)
        // The budget is per token: another keeps its own.
        #expect(fixture.bus.admitPublish(by: Principal(tokenID: "other", role: .staff), bytes: 100) == nil)
    }

    @Test func dataChecksRefuseWhatTheHubWouldRefuseLater() throws {
        let fixture = try BusFixture()
        fixture.bus.checkData(on: try TopicPattern(validating: "mirror.landmarks.*")) { data in
            data?["outer"] == nil ? "outer is required" : nil
        }
        let session = fixture.session(token: try deviceToken(fixture, "dev1"))
        session.receive(#"{"op":"publish","topic":"mirror.landmarks.dev1","type":"x","data":{},"ref":"bad"}"#)
        let sent = try messages(session)
        #expect(sent.last?["code"] == .string("bad_request"))
        #expect(sent.last?["message"]?.stringValue?.contains("outer is required") == true)
    }
}
