import Foundation

/// How a scanner is connected and how its output becomes scans: the `scanner` section of a descriptor.
package struct ScannerSettings: Sendable, Equatable, Decodable {
    /// Where the scanner's characters come from.
    package enum Connection: Sendable, Equatable {
        /// A USB HID keyboard-wedge scanner, read through evdev.
        case hid(HID)
        /// A serial (RS-232 or USB CDC/ACM) scanner, read through termios.
        case serial(Serial)
    }

    /// A keyboard-wedge scanner: which input device it is and how its keys become text.
    package struct HID: Sendable, Equatable {
        /// `/dev/input/by-id/...` or `/dev/input/eventN`; nil when `match` picks the device.
        package var path: String?
        /// USB vendor and product id: the first `/dev/input/event*` with these ids is the scanner.
        package var match: USBID?
        /// xkb layout the scanner types in (`us`, `de`, `fr`, ...), and its variant, if any.
        package var layout: String
        package var variant: String?
        /// The key that ends a scan.
        package var terminator: Terminator
        /// A pause between keys this long ends the input: a scan without a terminator, else a partial one.
        package var interKeyGapMs: Int

        package init(
            path: String? = nil, match: USBID? = nil, layout: String = "us", variant: String? = nil,
            terminator: Terminator = .enter, interKeyGapMs: Int = 100
        ) {
            self.path = path
            self.match = match
            self.layout = layout
            self.variant = variant
            self.terminator = terminator
            self.interKeyGapMs = interKeyGapMs
        }
    }

    /// The key a keyboard-wedge scanner sends after each code.
    package enum Terminator: String, Sendable, Equatable, CaseIterable {
        case enter
        case tab
        /// No terminator: a pause of `interKeyGapMs` ends the scan.
        case none
    }

    /// A serial scanner: the port, its line settings and how scans are framed.
    package struct Serial: Sendable, Equatable {
        package var path: String
        package var baud: Int
        package var parity: Parity
        package var dataBits: Int
        package var stopBits: Int
        package var flowControl: FlowControl
        package var framing: Framing
        /// A frame whose bytes stop arriving for this long without its end is partial and dropped.
        package var frameTimeoutMs: Int

        package init(
            path: String, baud: Int = 9600, parity: Parity = .none, dataBits: Int = 8, stopBits: Int = 1,
            flowControl: FlowControl = .none, framing: Framing = .cr, frameTimeoutMs: Int = 500
        ) {
            self.path = path
            self.baud = baud
            self.parity = parity
            self.dataBits = dataBits
            self.stopBits = stopBits
            self.flowControl = flowControl
            self.framing = framing
            self.frameTimeoutMs = frameTimeoutMs
        }
    }

    package enum Parity: String, Sendable, Equatable, CaseIterable { case none, even, odd }
    package enum FlowControl: String, Sendable, Equatable, CaseIterable { case none, rtscts, xonxoff }
    /// How a serial scanner marks where a scan ends (or starts and ends).
    package enum Framing: String, Sendable, Equatable, CaseIterable {
        case cr
        case lf
        case crlf
        /// STX (0x02) before and ETX (0x03) after each scan.
        case stxEtx = "stx-etx"
    }

    /// A USB vendor:product pair, written `0c2e:0b61`.
    package struct USBID: Sendable, Equatable, CustomStringConvertible {
        package var vendor: UInt16
        package var product: UInt16

        package init(vendor: UInt16, product: UInt16) {
            self.vendor = vendor
            self.product = product
        }

        /// Parses `vvvv:pppp` (hexadecimal); nil for anything else.
        package init?(_ text: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ $0.count == 4 }),
                let vendor = UInt16(parts[0], radix: 16), let product = UInt16(parts[1], radix: 16)
            else { return nil }
            self.init(vendor: vendor, product: product)
        }

        package var description: String {
            func hex(_ value: UInt16) -> String {
                let digits = String(value, radix: 16)
                return String(repeating: "0", count: 4 - digits.count) + digits
            }
            return "\(hex(vendor)):\(hex(product))"
        }
    }

    package var connection: Connection
    /// Stripped from the start of every scan when present (a prefix the scanner is programmed to send).
    package var prefix: String
    /// Stripped from the end of every scan when present.
    package var suffix: String
    /// The scanner sends AIM symbology identifiers (`]Q1`, `]E0`, ...): they are parsed into the symbology.
    package var aimIdentifiers: Bool
    /// The symbology reported when no AIM identifier says otherwise (`unknown`, or e.g. `ean13`).
    package var symbology: String
    /// Longer input is dropped (and counted), never published.
    package var maxLength: Int

    package init(
        connection: Connection, prefix: String = "", suffix: String = "", aimIdentifiers: Bool = false,
        symbology: String = "unknown", maxLength: Int = 256
    ) {
        self.connection = connection
        self.prefix = prefix
        self.suffix = suffix
        self.aimIdentifiers = aimIdentifiers
        self.symbology = symbology
        self.maxLength = maxLength
    }

    /// The device path or match, for logs and status.
    package var target: String {
        switch connection {
        case .hid(let hid): hid.path ?? "input device \(hid.match?.description ?? "?")"
        case .serial(let serial): serial.path
        }
    }

    /// Baud rates termios offers.
    package static let baudRates = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115_200, 230_400, 460_800, 921_600]

    enum Keys: String, CodingKey, CaseIterable {
        case type, path, match, layout, variant, terminator, interKeyGapMs
        case baud, parity, dataBits, stopBits, flowControl, framing, frameTimeoutMs
        case prefix, suffix, aimIdentifiers, symbology, maxLength

        static let common: [Keys] = [.type, .path, .prefix, .suffix, .aimIdentifiers, .symbology, .maxLength]
        static let hid: [Keys] = common + [.match, .layout, .variant, .terminator, .interKeyGapMs]
        static let serial: [Keys] =
            common + [
                .baud, .parity, .dataBits, .stopBits, .flowControl, .framing, .frameTimeoutMs,
            ]
    }

    /// Decodes the `scanner` section strictly: keys of the other scanner type are refused too.
    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let type = try c.decode(String.self, forKey: .type)
        let allowed: [Keys]
        switch type {
        case "hid": allowed = Keys.hid
        case "serial": allowed = Keys.serial
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c, debugDescription: "expected \"hid\" or \"serial\", found \"\(type)\"")
        }
        try decoder.rejectUnknownKeys(allowed: allowed.map(\.rawValue))
        prefix = try c.decodeIfPresent(String.self, forKey: .prefix) ?? ""
        suffix = try c.decodeIfPresent(String.self, forKey: .suffix) ?? ""
        aimIdentifiers = try c.decodeIfPresent(Bool.self, forKey: .aimIdentifiers) ?? false
        symbology = try c.decodeIfPresent(String.self, forKey: .symbology) ?? "unknown"
        maxLength = try Self.integer(c, .maxLength, default: 256, in: 1...65536, "1 to 65536 characters")
        let path = try c.decodeIfPresent(String.self, forKey: .path)
        if let path, !path.hasPrefix("/") {
            throw DecodingError.dataCorruptedError(
                forKey: .path, in: c, debugDescription: "expected an absolute device path such as /dev/input/by-id/...")
        }
        if type == "hid" {
            var match: USBID?
            if let text = try c.decodeIfPresent(String.self, forKey: .match) {
                guard let id = USBID(text) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .match, in: c,
                        debugDescription: "expected vendor:product as four hex digits each, e.g. \"0c2e:0b61\"")
                }
                match = id
            }
            guard (path == nil) != (match == nil) else {
                throw DecodingError.dataCorruptedError(
                    forKey: path == nil ? .path : .match, in: c,
                    debugDescription:
                        "expected exactly one of \"path\" (the input device) or \"match\" (vendor:product)")
            }
            let layout = try c.decodeIfPresent(String.self, forKey: .layout) ?? "us"
            guard Self.isXKBName(layout) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .layout, in: c, debugDescription: "expected an xkb layout name such as \"us\" or \"de\"")
            }
            let variant = try c.decodeIfPresent(String.self, forKey: .variant)
            if let variant, !Self.isXKBName(variant) {
                throw DecodingError.dataCorruptedError(
                    forKey: .variant, in: c, debugDescription: "expected an xkb variant name such as \"nodeadkeys\"")
            }
            let terminator = try Self.choice(c, .terminator, default: Terminator.enter)
            let gap = try Self.integer(c, .interKeyGapMs, default: 100, in: 5...10000, "5 to 10000 milliseconds")
            connection = .hid(
                HID(
                    path: path, match: match, layout: layout, variant: variant, terminator: terminator,
                    interKeyGapMs: gap))
        } else {
            guard let path else {
                throw DecodingError.keyNotFound(
                    Keys.path, .init(codingPath: c.codingPath, debugDescription: "a serial scanner needs a path"))
            }
            let baud = try c.decodeIfPresent(Int.self, forKey: .baud) ?? 9600
            guard Self.baudRates.contains(baud) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .baud, in: c,
                    debugDescription: "expected one of \(Self.baudRates.map(String.init).joined(separator: ", "))")
            }
            let dataBits = try c.decodeIfPresent(Int.self, forKey: .dataBits) ?? 8
            guard dataBits == 7 || dataBits == 8 else {
                throw DecodingError.dataCorruptedError(forKey: .dataBits, in: c, debugDescription: "expected 7 or 8")
            }
            let stopBits = try c.decodeIfPresent(Int.self, forKey: .stopBits) ?? 1
            guard stopBits == 1 || stopBits == 2 else {
                throw DecodingError.dataCorruptedError(forKey: .stopBits, in: c, debugDescription: "expected 1 or 2")
            }
            connection = .serial(
                Serial(
                    path: path, baud: baud, parity: try Self.choice(c, .parity, default: Parity.none),
                    dataBits: dataBits, stopBits: stopBits,
                    flowControl: try Self.choice(c, .flowControl, default: FlowControl.none),
                    framing: try Self.choice(c, .framing, default: Framing.cr),
                    frameTimeoutMs: try Self.integer(
                        c, .frameTimeoutMs, default: 500, in: 10...60000, "10 to 60000 milliseconds")))
        }
    }

    private static func integer(
        _ c: KeyedDecodingContainer<Keys>, _ key: Keys, default value: Int, in range: ClosedRange<Int>,
        _ expected: String
    ) throws -> Int {
        let number = try c.decodeIfPresent(Int.self, forKey: key) ?? value
        guard range.contains(number) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "expected \(expected)")
        }
        return number
    }

    private static func choice<T: RawRepresentable & CaseIterable>(
        _ c: KeyedDecodingContainer<Keys>, _ key: Keys, default value: T
    ) throws -> T where T.RawValue == String {
        guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return value }
        guard let result = T(rawValue: text) else {
            let names = T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c, debugDescription: "expected one of \(names), found \"\(text)\"")
        }
        return result
    }

    /// Layout and variant names are file and section names in xkb-data: letters, digits, `_` and `-`.
    private static func isXKBName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_-".unicodeScalars.contains($0))
            }
    }
}
