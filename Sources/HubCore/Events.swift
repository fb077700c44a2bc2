import Foundation

/// The kinds of device a hub drives.
package enum DeviceKind: String, Sendable, Codable {
    case kiosk
    case mirror
    case scanner
}

/// A device pipeline's state, as staff and services see it.
package enum DeviceState: String, Sendable, Codable {
    case starting
    case online
    case degraded
    case offline
    case failed
}

/// `data` of a `storehub.device.status` event.
package struct DeviceStatus: Sendable, Codable, Equatable {
    package var device: DeviceID
    package var kind: DeviceKind
    package var name: String
    package var state: DeviceState
    package var reason: String
    /// ISO 8601; when the device entered `state`.
    package var since: String
    package var framesDelivered: UInt64
    package var framesProcessed: UInt64
    package var framesDropped: UInt64
    package var restarts: UInt64
    /// The last error, kept after the device recovered; absent while nothing went wrong since the hub started.
    package var lastError: String?
    /// Scanners only: input cut short or running on (a partial scan, an over-long line), dropped unpublished.
    package var scansDropped: UInt64?
    /// Scanners only: unreadable input dropped (noise, non-printable bytes, bytes outside a frame).
    package var errors: UInt64?
    /// Scanners only: what the last dropped input was, never its content (e.g. "over-long line (300 bytes)").
    package var lastProblem: String?
    /// Mirrors only: frames in, rendered and dropped, and the time per stage (see `FrameBudget`).
    package var frameBudget: FrameBudget?

    package init(
        device: DeviceID, kind: DeviceKind, name: String, state: DeviceState, reason: String, since: Date,
        framesDelivered: UInt64 = 0, framesProcessed: UInt64 = 0, framesDropped: UInt64 = 0, restarts: UInt64 = 0,
        lastError: String? = nil, scansDropped: UInt64? = nil, errors: UInt64? = nil, lastProblem: String? = nil,
        frameBudget: FrameBudget? = nil
    ) {
        self.device = device
        self.kind = kind
        self.name = name
        self.state = state
        self.reason = reason
        self.since = Timestamp.iso8601(since)
        self.framesDelivered = framesDelivered
        self.framesProcessed = framesProcessed
        self.framesDropped = framesDropped
        self.restarts = restarts
        self.lastError = lastError
        self.scansDropped = scansDropped
        self.errors = errors
        self.lastProblem = lastProblem
        self.frameBudget = frameBudget
    }
}

/// `data` of a `storehub.scan` event.
package struct ScanData: Sendable, Codable, Equatable {
    package var device: DeviceID
    /// As read: `qr`, `ean13`, `ean8`, `upca`, `upce`, `code128`, ...
    package var symbology: String
    /// The payload as text: UTF-8 when valid, else ISO-8859-1.
    package var text: String
    /// The raw payload, base64.
    package var bytes: String
    /// GTIN-13 for EAN/UPC symbols.
    package var gtin: String?
    /// Corners of the symbol in frame pixels; empty for scanners.
    package var polygon: [[Int]]
    package var quality: Int
    /// ISO 8601; when the frame was captured (scanners: when the scan ended).
    package var frameTime: String
    /// The payload class from the device's `decoder.classes` (JSON key `class`), when one matched.
    package var payloadClass: String?
    /// GS1 element strings (GS1-128, GS1 QR): the application identifiers and values, in symbol order.
    package var gs1: [GS1Element]?
    /// Why a GS1 symbol's element string could not be parsed (the scan is published all the same).
    package var gs1Error: String?
    /// How the decoder found it: `plain`, or the decode strategy that was needed (`inverted`, `rotated`, ...).
    package var strategy: String?
    /// The hub's verdict on a signed pickup code, when the hub checks them (`pickup` in hub.json) and `text` is one.
    package var pickup: PickupCheck?

    package init(
        device: DeviceID, symbology: String, text: String, bytes: [UInt8], gtin: String?, polygon: [[Int]],
        quality: Int, frameTime: Date, payloadClass: String? = nil, gs1: [GS1Element]? = nil, gs1Error: String? = nil,
        strategy: String? = nil
    ) {
        self.device = device
        self.symbology = symbology
        self.text = text
        self.bytes = Data(bytes).base64EncodedString()
        self.gtin = gtin
        self.polygon = polygon
        self.quality = quality
        self.frameTime = Timestamp.iso8601(frameTime)
        self.payloadClass = payloadClass
        self.gs1 = gs1
        self.gs1Error = gs1Error
        self.strategy = strategy
    }

    enum CodingKeys: String, CodingKey {
        case device, symbology, text, bytes, gtin, polygon, quality, frameTime, gs1, gs1Error, strategy, pickup
        case payloadClass = "class"
    }
}

/// One GS1 application identifier and its value, e.g. `01` and a GTIN-14.
package struct GS1Element: Sendable, Equatable, Codable {
    /// The application identifier, 2 to 4 digits.
    package var ai: String
    /// Its value as encoded.
    package var value: String

    package init(ai: String, value: String) {
        self.ai = ai
        self.value = value
    }
}

extension JSONValue {
    /// Converts any Encodable value (event data structs) into a JSONValue.
    package static func encoding(_ value: some Encodable) throws -> JSONValue {
        let data = try JSONEncoder().encode(value)
        return try JSONDecoder().decode(JSONValue.self, from: data)
    }
}
