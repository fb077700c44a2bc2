import Config
import Foundation
import HubCore
import NIOCore
import Testing

@testable import Uplink

@Suite struct MQTTPacketTests {
    private func roundTrip(_ packet: MQTTPacket) throws -> MQTTPacket? {
        var buffer = ByteBuffer()
        packet.write(to: &buffer)
        let decoded = try MQTTPacket.read(from: &buffer)
        #expect(buffer.readableBytes == 0)
        return decoded
    }

    @Test func everyPacketTypeSurvivesEncodeThenDecode() throws {
        let will = MQTTPacket.Publish(topic: "chain/s/hub/h/status", payload: Array("{}".utf8), qos: 1, retain: true)
        let packets: [MQTTPacket] = [
            .connect(
                .init(
                    clientID: "storehub-s-h", cleanSession: false, keepaliveSeconds: 30, will: will, username: "s",
                    password: Array("secret".utf8))),
            .connack(sessionPresent: true, returnCode: 0),
            .publish(.init(topic: "a/b", payload: [1, 2, 3], qos: 1, retain: false, dup: true, packetID: 7)),
            .publish(.init(topic: "a/b", payload: [], qos: 0)),
            .puback(packetID: 65535),
            .subscribe(packetID: 2, filters: [.init(filter: "chain/s/command/#", qos: 1)]),
            .suback(packetID: 2, returnCodes: [1]),
            .pingreq, .pingresp, .disconnect,
        ]
        for packet in packets {
            #expect(try roundTrip(packet) == packet)
        }
    }

    @Test func connectBytesMatchTheSpecificationsLayout() {
        var buffer = ByteBuffer()
        MQTTPacket.connect(.init(clientID: "c", cleanSession: true, keepaliveSeconds: 60)).write(to: &buffer)
        // Fixed header 0x10, remaining length 13, "MQTT", level 4, flags 0x02, keepalive 60, client id "c".
        #expect(
            buffer.readableBytesView.elementsEqual([
                0x10, 13, 0, 4, 0x4D, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, 0, 1, 0x63,
            ]))
    }

    @Test func remainingLengthUsesSeveralBytesForLargePayloads() throws {
        let payload = [UInt8](repeating: 0x41, count: 200_000)
        var buffer = ByteBuffer()
        MQTTPacket.publish(.init(topic: "t", payload: payload, qos: 1, packetID: 1)).write(to: &buffer)
        // 200,000 + 3 (topic) + 2 (packet id) = 200,005 needs three length bytes.
        #expect(buffer.getInteger(at: 1, as: UInt8.self)! & 0x80 != 0)
        #expect(buffer.getInteger(at: 3, as: UInt8.self)! & 0x80 == 0)
        guard case .publish(let decoded)? = try MQTTPacket.read(from: &buffer) else {
            Issue.record("not a publish")
            return
        }
        #expect(decoded.payload == payload)
    }

    @Test func anIncompletePacketConsumesNothingUntilTheRestArrives() throws {
        var whole = ByteBuffer()
        MQTTPacket.puback(packetID: 9).write(to: &whole)
        var partial = ByteBuffer(bytes: whole.readableBytesView.prefix(3))
        #expect(try MQTTPacket.read(from: &partial) == nil)
        #expect(partial.readableBytes == 3)
        partial.writeBytes(whole.readableBytesView.suffix(1))
        #expect(try MQTTPacket.read(from: &partial) == .puback(packetID: 9))
    }

    @Test func malformedPacketsAreRefusedWithAReason() {
        var tooLong = ByteBuffer(bytes: [0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        #expect(throws: MQTTProtocolError.self) { try MQTTPacket.read(from: &tooLong) }
        var oversized = ByteBuffer(bytes: [0x30, 0xFF, 0xFF, 0xFF, 0x7F])
        #expect(throws: MQTTProtocolError.self) { try MQTTPacket.read(from: &oversized) }
        // A PUBACK whose body is one byte short of its packet id.
        var shortAck = ByteBuffer(bytes: [0x40, 1, 0])
        #expect(throws: MQTTProtocolError.self) { try MQTTPacket.read(from: &shortAck) }
        // A topic length pointing past the end.
        var badTopic = ByteBuffer(bytes: [0x30, 3, 0, 9, 0x61])
        #expect(throws: MQTTProtocolError.self) { try MQTTPacket.read(from: &badTopic) }
        var unknown = ByteBuffer(bytes: [0xF0, 0])
        #expect(throws: MQTTProtocolError.self) { try MQTTPacket.read(from: &unknown) }
    }

    @Test func theConnectDescriptionNeverShowsThePassword() {
        let connect = MQTTPacket.Connect(
            clientID: "c", cleanSession: false, keepaliveSeconds: 5, username: "store-1",
            password: Array("hunter2".utf8))
        #expect(!String(describing: connect).contains("hunter2"))
        #expect(!String(describing: MQTTPacket.connect(connect)).contains("hunter2"))
    }
}

@Suite struct UplinkSettingsTests {
    private func settings(_ json: String) throws -> UplinkSettings {
        try JSONDecoder().decode(UplinkSettings.self, from: Data(json.utf8))
    }

    @Test func defaultsDeriveThePrefixAndClientIDFromTheStore() throws {
        let uplink = try settings(#"{"brokers": ["mqtt://b1", "mqtts://b2:9000"], "store": "store-042"}"#)
        #expect(uplink.topicPrefix == "chain/store-042/")
        #expect(uplink.clientID(hub: "hub-1") == "storehub-store-042-hub-1")
        #expect(
            uplink.brokers == [.init(host: "b1", port: 1883, tls: false), .init(host: "b2", port: 9000, tls: true)])
        #expect(uplink.topics.map(\.description) == UplinkSettings.defaultTopics)
    }

    @Test func badValuesAreRefusedWithWhatWasExpected() {
        for json in [
            #"{"brokers": [], "store": "s"}"#,
            #"{"brokers": ["http://b"], "store": "s"}"#,
            #"{"brokers": ["mqtt://b:0"], "store": "s"}"#,
            #"{"brokers": ["mqtt://user:pw@b"], "store": "s"}"#,
            #"{"brokers": ["mqtt://b"], "store": "s", "topicPrefix": "chain/#/"}"#,
            #"{"brokers": ["mqtt://b"], "store": "s", "topics": ["scan..x"]}"#,
            #"{"brokers": ["mqtt://b"], "store": "s", "keepaliveSeconds": 0}"#,
            #"{"brokers": ["mqtt://b"], "store": "s", "password": "inline"}"#,
        ] {
            #expect(throws: DecodingError.self, "\(json)") { try settings(json) }
        }
    }
}
