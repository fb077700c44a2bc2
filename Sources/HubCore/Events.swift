import Foundation

/// The kinds of device a hub drives.
public enum DeviceKind: String, Sendable, Codable {
    case kiosk
    case mirror
    case scanner
}

/// A device pipeline's state, as staff and services see it.
public enum DeviceState: String, Sendable, Codable {
    case starting
    case online
    case degraded
    case offline
    case failed
}

/// `data` of a `storehub.device.status` event.
public struct DeviceStatus: Sendable, Codable, Equatable {
    public var device: DeviceID
    public var kind: DeviceKind
    public var name: String
    public var state: DeviceState
    public var reason: String
    /// ISO 8601; when the device entered `state`.
    public var since: String
    public var framesDelivered: UInt64
    public var framesProcessed: UInt64
    public var framesDropped: UInt64
    public var restarts: UInt64
    /// The last error, kept after the device recovered; absent while nothing went wrong since the hub started.
    public var lastError: String?
    /// Scanners only: input cut short or running on (a partial scan, an over-long line), dropped unpublished.
    public var scansDropped: UInt64?
    /// Scanners only: unreadable input dropped (noise, non-printable bytes, bytes outside a frame).
    public var errors: UInt64?
    /// Scanners only: what the last dropped input was, never its content (e.g. "over-long line (300 bytes)").
    public var lastProblem: String?
    /// Mirrors only: frames in, rendered and dropped, and the time per stage (see `FrameBudget`).
    public var frameBudget: FrameBudget?

    public init(
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
public struct ScanData: Sendable, Codable, Equatable {
    public var device: DeviceID
    /// As read: `qr`, `ean13`, `ean8`, `upca`, `upce`, `code128`, ...
    public var symbology: String
    /// The payload as text: UTF-8 when valid, else ISO-8859-1.
    public var text: String
    /// The raw payload, base64.
    public var bytes: String
    /// GTIN-13 for EAN/UPC symbols.
    public var gtin: String?
    /// Corners of the symbol in frame pixels; empty for scanners.
    public var polygon: [[Int]]
    public var quality: Int
    /// ISO 8601; when the frame was captured (scanners: when the scan ended).
    public var frameTime: String
    /// The payload class from the device's `decoder.classes` (JSON key `class`), when one matched.
    public var payloadClass: String?
    /// GS1 element strings (GS1-128, GS1 QR): the application identifiers and values, in symbol order.
    public var gs1: [GS1Element]?
    /// Why a GS1 symbol's element string could not be parsed (the scan is published all the same).
    public var gs1Error: String?
    /// How the decoder found it: `plain`, or the decode strategy that was needed (`inverted`, `rotated`, ...).
    public var strategy: String?
    /// The hub's verdict on a signed pickup code, when the hub checks them (`pickup` in hub.json) and `text` is one.
    public var pickup: PickupCheck?

    public init(
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
public struct GS1Element: Sendable, Equatable, Codable {
    /// The application identifier, 2 to 4 digits.
    public var ai: String
    /// Its value as encoded.
    public var value: String

    public init(ai: String, value: String) {
        self.ai = ai
        self.value = value
    }
}

extension JSONValue {
    /// Converts any Encodable value (event data structs) into a JSONValue.
    public static func encoding(_ value: some Encodable) throws -> JSONValue {
        let data = try JSONEncoder().encode(value)
        return try JSONDecoder().decode(JSONValue.self, from: data)
    }
}
