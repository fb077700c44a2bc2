import NIOCore

/// The MQTT 3.1.1 control packets the uplink sends and receives (OASIS MQTT 3.1.1, section 3).
///
/// The hub is a client: it encodes CONNECT, PUBLISH, PUBACK, SUBSCRIBE, PINGREQ and DISCONNECT and decodes
/// CONNACK, PUBLISH, PUBACK, SUBACK and PINGRESP. Both directions are implemented for every packet here so
/// tests can round-trip them.
package enum MQTTPacket: Sendable, Equatable {
    case connect(Connect)
    case connack(sessionPresent: Bool, returnCode: UInt8)
    case publish(Publish)
    case puback(packetID: UInt16)
    case subscribe(packetID: UInt16, filters: [Subscription])
    case suback(packetID: UInt16, returnCodes: [UInt8])
    case pingreq
    case pingresp
    case disconnect

    /// CONNECT's fields. The password is kept out of `description` so a logged packet never shows it.
    package struct Connect: Sendable, Equatable, CustomStringConvertible {
        package var clientID: String
        package var cleanSession: Bool
        package var keepaliveSeconds: UInt16
        package var will: Publish?
        package var username: String?
        package var password: [UInt8]?

        package init(
            clientID: String, cleanSession: Bool, keepaliveSeconds: UInt16, will: Publish? = nil,
            username: String? = nil, password: [UInt8]? = nil
        ) {
            self.clientID = clientID
            self.cleanSession = cleanSession
            self.keepaliveSeconds = keepaliveSeconds
            self.will = will
            self.username = username
            self.password = password
        }

        package var description: String {
            "CONNECT(\(clientID), clean=\(cleanSession), keepalive=\(keepaliveSeconds), user=\(username ?? "-"))"
        }
    }

    /// A PUBLISH (or a will): `packetID` is set for QoS 1 and 2.
    package struct Publish: Sendable, Equatable {
        package var topic: String
        package var payload: [UInt8]
        package var qos: UInt8
        package var retain: Bool
        package var dup: Bool
        package var packetID: UInt16?

        package init(
            topic: String, payload: [UInt8], qos: UInt8, retain: Bool = false, dup: Bool = false,
            packetID: UInt16? = nil
        ) {
            self.topic = topic
            self.payload = payload
            self.qos = qos
            self.retain = retain
            self.dup = dup
            self.packetID = packetID
        }
    }

    /// One topic filter of a SUBSCRIBE and the QoS asked for.
    package struct Subscription: Sendable, Equatable {
        package var filter: String
        package var qos: UInt8

        package init(filter: String, qos: UInt8) {
            self.filter = filter
            self.qos = qos
        }
    }

    /// CONNACK return codes (3.2.2.3), for error messages.
    package static func connackReason(_ code: UInt8) -> String {
        switch code {
        case 0: "accepted"
        case 1: "unacceptable protocol version (the broker does not speak MQTT 3.1.1)"
        case 2: "client identifier rejected"
        case 3: "server unavailable"
        case 4: "bad user name or password"
        case 5: "not authorized (check the store's credentials and ACL on the broker)"
        default: "return code \(code)"
        }
    }
}

/// A packet that breaks the protocol: what was wrong, for the log and the reconnect reason.
package struct MQTTProtocolError: Error, Sendable, CustomStringConvertible {
    package var reason: String

    package init(_ reason: String) { self.reason = reason }

    package var description: String { "MQTT protocol error: \(reason)" }
}

extension MQTTPacket {
    /// Largest packet the decoder accepts; bigger ones close the connection instead of growing memory.
    package static let maxPacketBytes = 1 << 20

    /// Appends the packet's wire form to `buffer`.
    package func write(to buffer: inout ByteBuffer) {
        var body = ByteBuffer()
        let header: UInt8
        switch self {
        case .connect(let connect):
            header = 0x10
            body.writeMQTTString("MQTT")
            body.writeInteger(UInt8(4))
            var flags: UInt8 = connect.cleanSession ? 0x02 : 0
            if let will = connect.will {
                let willQoS: UInt8 = (will.qos & 0x03) << 3
                flags |= 0x04 | willQoS
                if will.retain { flags |= 0x20 }
            }
            if connect.password != nil { flags |= 0x40 }
            if connect.username != nil { flags |= 0x80 }
            body.writeInteger(flags)
            body.writeInteger(connect.keepaliveSeconds)
            body.writeMQTTString(connect.clientID)
            if let will = connect.will {
                body.writeMQTTString(will.topic)
                body.writeInteger(UInt16(will.payload.count))
                body.writeBytes(will.payload)
            }
            if let username = connect.username { body.writeMQTTString(username) }
            if let password = connect.password {
                body.writeInteger(UInt16(password.count))
                body.writeBytes(password)
            }
        case .connack(let sessionPresent, let returnCode):
            header = 0x20
            body.writeInteger(UInt8(sessionPresent ? 1 : 0))
            body.writeInteger(returnCode)
        case .publish(let publish):
            let qos: UInt8 = (publish.qos & 0x03) << 1
            let dup: UInt8 = publish.dup ? 0x08 : 0
            let retain: UInt8 = publish.retain ? 0x01 : 0
            header = 0x30 | dup | qos | retain
            body.writeMQTTString(publish.topic)
            if publish.qos > 0 { body.writeInteger(publish.packetID ?? 0) }
            body.writeBytes(publish.payload)
        case .puback(let packetID):
            header = 0x40
            body.writeInteger(packetID)
        case .subscribe(let packetID, let filters):
            header = 0x82
            body.writeInteger(packetID)
            for subscription in filters {
                body.writeMQTTString(subscription.filter)
                body.writeInteger(subscription.qos)
            }
        case .suback(let packetID, let returnCodes):
            header = 0x90
            body.writeInteger(packetID)
            body.writeBytes(returnCodes)
        case .pingreq:
            header = 0xC0
        case .pingresp:
            header = 0xD0
        case .disconnect:
            header = 0xE0
        }
        buffer.writeInteger(header)
        var length = body.readableBytes
        repeat {
            var byte = UInt8(length % 128)
            length /= 128
            if length > 0 { byte |= 0x80 }
            buffer.writeInteger(byte)
        } while length > 0
        buffer.writeBuffer(&body)
    }

    /// Reads one packet from the front of `buffer`; nil (and nothing consumed) when it is not complete yet.
    package static func read(from buffer: inout ByteBuffer) throws(MQTTProtocolError) -> MQTTPacket? {
        var peek = buffer
        guard let header: UInt8 = peek.readInteger() else { return nil }
        var length = 0
        var multiplier = 1
        while true {
            guard let byte: UInt8 = peek.readInteger() else { return nil }
            length += Int(byte & 0x7F) * multiplier
            if byte & 0x80 == 0 { break }
            multiplier *= 128
            guard multiplier <= 128 * 128 * 128 else { throw MQTTProtocolError("remaining length longer than 4 bytes") }
        }
        guard length <= maxPacketBytes else {
            throw MQTTProtocolError("packet of \(length) bytes is larger than the limit of \(maxPacketBytes)")
        }
        guard var body = peek.readSlice(length: length) else { return nil }
        buffer = peek
        let packet = try parse(header: header, body: &body)
        guard body.readableBytes == 0 else {
            throw MQTTProtocolError("\(body.readableBytes) unexpected bytes after a packet of type \(header >> 4)")
        }
        return packet
    }

    private static func parse(header: UInt8, body: inout ByteBuffer) throws(MQTTProtocolError) -> MQTTPacket {
        let flags = header & 0x0F
        switch header >> 4 {
        case 1:
            guard try body.readMQTTString() == "MQTT", body.readInteger(as: UInt8.self) == 4 else {
                throw MQTTProtocolError("CONNECT is not MQTT 3.1.1")
            }
            guard let connectFlags: UInt8 = body.readInteger(), let keepalive: UInt16 = body.readInteger() else {
                throw MQTTProtocolError("CONNECT too short")
            }
            var connect = Connect(
                clientID: try body.readMQTTString(), cleanSession: connectFlags & 0x02 != 0,
                keepaliveSeconds: keepalive)
            if connectFlags & 0x04 != 0 {
                let topic = try body.readMQTTString()
                let payload = try body.readMQTTBytes()
                connect.will = Publish(
                    topic: topic, payload: payload, qos: (connectFlags >> 3) & 0x03, retain: connectFlags & 0x20 != 0)
            }
            if connectFlags & 0x80 != 0 { connect.username = try body.readMQTTString() }
            if connectFlags & 0x40 != 0 { connect.password = try body.readMQTTBytes() }
            return .connect(connect)
        case 2:
            guard let acknowledge: UInt8 = body.readInteger(), let code: UInt8 = body.readInteger() else {
                throw MQTTProtocolError("CONNACK too short")
            }
            return .connack(sessionPresent: acknowledge & 0x01 != 0, returnCode: code)
        case 3:
            let qos = (flags >> 1) & 0x03
            guard qos < 3 else { throw MQTTProtocolError("PUBLISH with QoS 3") }
            let topic = try body.readMQTTString()
            var packetID: UInt16?
            if qos > 0 {
                guard let id: UInt16 = body.readInteger() else { throw MQTTProtocolError("PUBLISH without packet id") }
                packetID = id
            }
            let payload = body.readBytes(length: body.readableBytes) ?? []
            return .publish(
                Publish(
                    topic: topic, payload: payload, qos: qos, retain: flags & 0x01 != 0, dup: flags & 0x08 != 0,
                    packetID: packetID))
        case 4:
            guard let id: UInt16 = body.readInteger() else { throw MQTTProtocolError("PUBACK too short") }
            return .puback(packetID: id)
        case 8:
            guard let id: UInt16 = body.readInteger() else { throw MQTTProtocolError("SUBSCRIBE too short") }
            var filters: [Subscription] = []
            while body.readableBytes > 0 {
                let filter = try body.readMQTTString()
                guard let qos: UInt8 = body.readInteger() else { throw MQTTProtocolError("SUBSCRIBE without QoS") }
                filters.append(Subscription(filter: filter, qos: qos))
            }
            return .subscribe(packetID: id, filters: filters)
        case 9:
            guard let id: UInt16 = body.readInteger() else { throw MQTTProtocolError("SUBACK too short") }
            return .suback(packetID: id, returnCodes: body.readBytes(length: body.readableBytes) ?? [])
        case 12: return .pingreq
        case 13: return .pingresp
        case 14: return .disconnect
        default:
            throw MQTTProtocolError("unsupported packet type \(header >> 4)")
        }
    }
}

extension ByteBuffer {
    fileprivate mutating func writeMQTTString(_ text: String) {
        writeInteger(UInt16(text.utf8.count))
        writeString(text)
    }

    fileprivate mutating func readMQTTBytes() throws(MQTTProtocolError) -> [UInt8] {
        guard let length: UInt16 = readInteger(), let bytes = readBytes(length: Int(length)) else {
            throw MQTTProtocolError("length-prefixed field runs past the end of the packet")
        }
        return bytes
    }

    fileprivate mutating func readMQTTString() throws(MQTTProtocolError) -> String {
        let bytes = try readMQTTBytes()
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw MQTTProtocolError("string field is not valid UTF-8")
        }
        return text
    }
}

/// Splits the inbound byte stream into packets.
package struct MQTTDecoder: ByteToMessageDecoder {
    package typealias InboundOut = MQTTPacket

    package init() {}

    package mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let packet = try MQTTPacket.read(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(packet))
        return .continue
    }
}

/// Writes outbound packets.
package struct MQTTEncoder: MessageToByteEncoder {
    package typealias OutboundIn = MQTTPacket

    package init() {}

    package func encode(data: MQTTPacket, out: inout ByteBuffer) throws {
        data.write(to: &out)
    }
}
