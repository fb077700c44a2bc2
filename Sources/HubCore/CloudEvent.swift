import Foundation

/// A CloudEvents 1.0 event as StoreHub publishes it; `subject` is the bus topic.
package struct CloudEvent: Sendable, Codable, Equatable {
    package var specversion: String
    package var id: String
    package var source: String
    package var type: String
    package var subject: String
    package var time: String
    package var datacontenttype: String?
    package var data: JSONValue?

    package init(
        id: String = CloudEvent.randomID(), source: String, type: String, subject: String,
        time: Date = Date(), data: JSONValue?
    ) {
        self.specversion = "1.0"
        self.id = id
        self.source = source
        self.type = type
        self.subject = subject
        self.time = Timestamp.iso8601(time)
        self.datacontenttype = data == nil ? nil : "application/json"
        self.data = data
    }

    /// A random (version 4) UUID in lower case, from the system's generator (getrandom). Foundation's `UUID()`
    /// opens and reads /dev/urandom on each call on Linux, which showed in the publish path's profile.
    package static func randomID() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: generator.next() as UInt64) { bytes.replaceSubrange(0..<8, with: $0) }
        withUnsafeBytes(of: generator.next() as UInt64) { bytes.replaceSubrange(8..<16, with: $0) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The event as compact JSON, the form the log stores and the bus delivers.
    package func encoded() throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(contentsOf: #"{"specversion":"#.utf8)
        JSONValue.writeString(specversion, to: &out)
        for (key, value) in [("id", id), ("source", source), ("type", type), ("subject", subject), ("time", time)] {
            out.append(contentsOf: #",""#.utf8)
            out.append(contentsOf: key.utf8)
            out.append(contentsOf: #"":"#.utf8)
            JSONValue.writeString(value, to: &out)
        }
        if let datacontenttype {
            out.append(contentsOf: #","datacontenttype":"#.utf8)
            JSONValue.writeString(datacontenttype, to: &out)
        }
        if let data {
            out.append(contentsOf: #","data":"#.utf8)
            data.write(to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// Event types that the hub itself emits.
package enum EventType {
    package static let scan = "storehub.scan"
    package static let deviceStatus = "storehub.device.status"
}

/// Timestamps in the form events carry them.
package enum Timestamp {
    /// ISO 8601 in UTC with milliseconds, e.g. `2026-11-26T10:00:00.123Z`.
    package static func iso8601(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
        let millis = Int(milliseconds - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }
}
