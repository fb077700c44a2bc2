import Config
import Foundation
import HubCore
import Testing

@Suite struct ScannerDescriptorTests {
    private func decode(_ json: String) throws(ConfigError) -> DeviceDescriptor {
        try ConfigFile.decode(DeviceDescriptor.self, from: Data(json.utf8), file: "scanner-till.json")
    }

    /// The error for a descriptor with this scanner section (and optional extra top-level keys).
    private func error(_ scanner: String, extra: String = "", kind: String = "scanner") -> String {
        do {
            _ = try decode(#"{"id":"scanner-till","kind":"\#(kind)","scanner":\#(scanner)\#(extra)}"#)
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test func hidDescriptorWithDefaults() throws {
        let descriptor = try decode(
            #"{"id":"scanner-till","kind":"scanner","name":"Till handheld","scanner":{"type":"hid","path":"/dev/input/by-id/usb-scanner-event-kbd","layout":"de","aimIdentifiers":true},"decoder":{"duplicateWindowSeconds":3}}"#
        )
        let settings = try #require(descriptor.scanner)
        #expect(settings.aimIdentifiers && settings.symbology == "unknown" && settings.maxLength == 256)
        #expect(
            settings.connection
                == .hid(
                    .init(
                        path: "/dev/input/by-id/usb-scanner-event-kbd", layout: "de", terminator: .enter,
                        interKeyGapMs: 100)))
        #expect(descriptor.decoder.duplicateWindowSeconds == 3)
    }

    @Test func hidByVendorAndProduct() throws {
        let settings = try #require(
            try decode(
                #"{"id":"s","kind":"scanner","scanner":{"type":"hid","match":"0C2E:0b61","variant":"nodeadkeys","terminator":"tab"}}"#
            ).scanner)
        #expect(
            settings.connection
                == .hid(.init(match: .init(vendor: 0x0c2e, product: 0x0b61), variant: "nodeadkeys", terminator: .tab)))
        #expect(settings.target == "input device 0c2e:0b61")
    }

    @Test func serialDescriptor() throws {
        let settings = try #require(
            try decode(
                #"{"id":"s","kind":"scanner","scanner":{"type":"serial","path":"/dev/serial/by-id/usb-x","baud":115200,"parity":"even","dataBits":7,"stopBits":2,"flowControl":"rtscts","framing":"stx-etx","maxLength":64}}"#
            ).scanner)
        #expect(
            settings.connection
                == .serial(
                    .init(
                        path: "/dev/serial/by-id/usb-x", baud: 115_200, parity: .even, dataBits: 7, stopBits: 2,
                        flowControl: .rtscts, framing: .stxEtx)))
        #expect(settings.maxLength == 64)
    }

    @Test func errorsNameTheKeyPath() {
        let file = "scanner-till.json: at "
        #expect(
            error(#"{"type":"usb","path":"/dev/x"}"#) == file
                + #"scanner.type: expected "hid" or "serial", found "usb""#)
        #expect(error(#"{"type":"hid"}"#).hasPrefix(file + "scanner.path: expected exactly one of"))
        #expect(
            error(#"{"type":"hid","path":"/dev/input/event3","match":"0c2e:0b61"}"#).hasPrefix(
                file + "scanner.match: expected exactly one of"))
        #expect(
            error(#"{"type":"hid","match":"0c2e-0b61"}"#).hasPrefix(file + "scanner.match: expected vendor:product"))
        #expect(error(#"{"type":"hid","path":"input/event3"}"#).hasPrefix(file + "scanner.path: expected an absolute"))
        #expect(
            error(#"{"type":"hid","path":"/dev/input/event3","baud":9600}"#).hasPrefix(
                file + "scanner.baud: unknown key"))
        #expect(
            error(#"{"type":"serial","path":"/dev/ttyACM0","layout":"de"}"#).hasPrefix(
                file + "scanner.layout: unknown key"))
        #expect(
            error(#"{"type":"hid","path":"/dev/input/event3","layout":"de;rm"}"#).hasPrefix(
                file + "scanner.layout: expected"))
        #expect(
            error(#"{"type":"hid","path":"/dev/input/event3","terminator":"space"}"#)
                == file + #"scanner.terminator: expected one of "enter", "tab", "none", found "space""#)
        #expect(
            error(#"{"type":"hid","path":"/dev/input/event3","interKeyGapMs":0}"#)
                == file + "scanner.interKeyGapMs: expected 5 to 10000 milliseconds")
        #expect(error(#"{"type":"serial"}"#) == file + "scanner.path: required key is missing")
        #expect(
            error(#"{"type":"serial","path":"/dev/ttyACM0","baud":9601}"#).hasPrefix(
                file + "scanner.baud: expected one of 1200"))
        #expect(
            error(#"{"type":"serial","path":"/dev/ttyACM0","dataBits":5}"#) == file
                + "scanner.dataBits: expected 7 or 8")
        #expect(
            error(#"{"type":"serial","path":"/dev/ttyACM0","stopBits":3}"#) == file
                + "scanner.stopBits: expected 1 or 2")
        #expect(
            error(#"{"type":"serial","path":"/dev/ttyACM0","framing":"etx"}"#)
                == file + #"scanner.framing: expected one of "cr", "lf", "crlf", "stx-etx", found "etx""#)
        #expect(
            error(#"{"type":"serial","path":"/dev/ttyACM0","maxLength":0}"#) == file
                + "scanner.maxLength: expected 1 to 65536 characters")
        #expect(
            error(#"{"type":"serial","path":"/dev/ttyACM0","prefix":3}"#) == file + "scanner.prefix: expected a string")
    }

    @Test func scannerSectionBelongsToScannersOnly() {
        let file = "scanner-till.json: at "
        #expect(
            error(#"{"type":"serial","path":"/dev/ttyACM0"}"#, kind: "kiosk") == file
                + "camera: required key is missing")
        #expect(
            error(
                #"{"type":"serial","path":"/dev/ttyACM0"}"#, extra: #","camera":{"type":"replay","path":"x"}"#,
                kind: "kiosk")
                == file + #"scanner: only devices of kind "scanner" take a scanner section"#)
        #expect(
            error(#"{"type":"serial","path":"/dev/ttyACM0"}"#, extra: #","camera":{"type":"replay","path":"x"}"#)
                == file + "camera: a scanner has no camera; remove this section")
        #expect(
            error(#"{"type":"serial","path":"/dev/ttyACM0"}"#, extra: #","decoder":{"symbologies":["qr"]}"#)
                == file
                + "decoder.symbologies: a scanner reports what it read; set scanner.symbology or scanner.aimIdentifiers instead"
        )
        do {
            _ = try decode(#"{"id":"s","kind":"scanner"}"#)
            Issue.record("a scanner without a scanner section was accepted")
        } catch {
            #expect(error.description == "scanner-till.json: at scanner: required key is missing")
        }
    }
}
