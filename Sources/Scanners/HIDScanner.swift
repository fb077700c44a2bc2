import CLinuxInput
import Config
import Foundation
import HubCore

/// USB HID keyboard-wedge scanners through evdev: the device is grabbed exclusively (EVIOCGRAB), so scans never
/// type into a kiosk's screen, and its keys are read with the configured xkb layout.
package enum HIDScanner {
    /// Where input devices live; `match` looks through `event*` here.
    package static let inputFolder = "/dev/input"

    /// A source for the descriptor's settings; `keymap` is compiled once for the device.
    package static func source(settings: ScannerSettings, hid: ScannerSettings.HID, keymap: XKBKeymap) -> ScannerDevice
    {
        let formatter = ScanFormatter(settings)
        let maxLength = settings.maxLength
        return ScannerDevice(
            description: "keyboard-wedge scanner \(settings.target)", formatter: formatter,
            open: { () throws(ScannerError) -> any ScannerPort in
                let path: String
                if let configured = hid.path {
                    path = configured
                } else {
                    path = try find(hid.match!)
                }
                return try HIDPort(
                    path: path, keymap: keymap,
                    assembler: WedgeAssembler(
                        terminator: hid.terminator, gapMs: hid.interKeyGapMs, maxLength: maxLength))
            },
            waitForDevice: { limit in
                if let path = hid.path {
                    try await waitForPath(path, upTo: limit)
                } else if (try? find(hid.match!)) != nil {
                    try await Task.sleep(for: limit)
                } else {
                    _ = await PathWatcher.waitForNewEntry(in: inputFolder, timeout: limit)
                    try Task.checkCancellation()
                }
            })
    }

    /// The first `/dev/input/event*` whose USB ids are `id` (EVIOCGID), in numeric order.
    package static func find(_ id: ScannerSettings.USBID) throws(ScannerError) -> String {
        var denied = false
        for path in eventNodes() {
            let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else {
                if errno == EACCES || errno == EPERM { denied = true }
                continue
            }
            defer { Glibc.close(fd) }
            var info = input_id()
            if (try? SystemCall.run("ioctl") { storehub_evdev_id(fd, &info) }) == 0, info.vendor == id.vendor,
                info.product == id.product
            {
                return path
            }
        }
        if denied {
            throw ScannerError(
                "no readable input device with USB id \(id); some could not be opened: add the user running "
                    + "storehub to the 'input' group", isTransient: true)
        }
        throw ScannerError("no input device with USB id \(id) (scanner not plugged in?)", isTransient: true)
    }

    /// `/dev/input/eventN` nodes in numeric order.
    package static func eventNodes() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: inputFolder)) ?? []
        return names.filter { $0.hasPrefix("event") && Int($0.dropFirst(5)) != nil }
            .sorted { Int($0.dropFirst(5))! < Int($1.dropFirst(5))! }
            .map { "\(inputFolder)/\($0)" }
    }
}

/// A grabbed evdev device. Used only on its ScannerDevice's queue.
final class HIDPort: ScannerPort {
    let fd: Int32
    let path: String
    private let keymap: XKBKeymap
    private var keyboard: XKBKeyboard
    private var assembler: WedgeAssembler
    private var events = [input_event](repeating: input_event(), count: 64)
    /// After SYN_DROPPED: events up to the next SYN_REPORT are incomplete and skipped.
    private var resyncing = false

    init(path: String, keymap: XKBKeymap, assembler: WedgeAssembler) throws(ScannerError) {
        let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw ScannerError.open(path, errno, what: "scanner", group: "input") }
        var types = [UInt8](repeating: 0, count: 4)
        do throws(SystemCallError) {
            _ = try SystemCall.run("ioctl") { storehub_evdev_event_types(fd, &types, UInt32(types.count)) }
        } catch {
            Glibc.close(fd)
            throw ScannerError(
                "\(path) is not an input event device; check scanner.path in the descriptor", cause: error.reason,
                isTransient: false)
        }
        guard types[Int(EV_KEY) / 8] & UInt8(1 << (Int(EV_KEY) % 8)) != 0 else {
            Glibc.close(fd)
            throw ScannerError(
                "\(path) has no keys, so it is not a keyboard-wedge scanner; check scanner.path or scanner.match",
                isTransient: false)
        }
        do throws(SystemCallError) {
            _ = try SystemCall.run("ioctl") { storehub_evdev_grab(fd, 1) }
        } catch {
            Glibc.close(fd)
            if error.errno == EBUSY {
                throw ScannerError(
                    "\(path) is grabbed by another program (another storehub, or a barcode tool); stop it",
                    cause: error.reason, isTransient: true)
            }
            throw ScannerError("\(path) cannot be taken exclusively", cause: error.reason, isTransient: true)
        }
        self.fd = fd
        self.path = path
        self.keymap = keymap
        keyboard = keymap.makeKeyboard()
        self.assembler = assembler
    }

    var deadline: Date? { assembler.deadline }

    func read() throws(ScannerError) -> [AssembledInput] {
        // A Result, since withUnsafeMutableBytes would rethrow the ScannerError untyped.
        try events.withUnsafeMutableBytes { bytes in
            Result { () throws(ScannerError) in
                try readAvailable(into: bytes, goneErrors: [ENODEV, EIO]) {
                    take($0.assumingMemoryBound(to: input_event.self))
                }
            }
        }.get()
    }

    /// Turns whole events into keys for the assembler; after SYN_DROPPED, resynchronises the held keys.
    private func take(_ events: UnsafeBufferPointer<input_event>) -> [AssembledInput] {
        var out: [AssembledInput] = []
        for event in events {
            let time = Date(
                timeIntervalSince1970: Double(event.time.tv_sec) + Double(event.time.tv_usec) / 1_000_000)
            if event.type == UInt16(EV_SYN) && event.code == UInt16(SYN_DROPPED) {
                resyncing = true
                out += assembler.interrupt(
                    "key events lost: the kernel's buffer overflowed before storehub read it (system too busy?)",
                    at: time)
            } else if resyncing {
                if event.type == UInt16(EV_SYN) && event.code == UInt16(SYN_REPORT) {
                    resyncing = false
                    keyboard = keymap.makeKeyboard(holding: heldKeys())
                }
            } else if event.type == UInt16(EV_KEY) && event.value != 2,
                let key = keyboard.key(event.code, pressed: event.value == 1)
            {
                out += assembler.key(key, at: time)
            }
        }
        return out
    }

    func idle(at now: Date) -> [AssembledInput] { assembler.idle(at: now) }

    /// The keys held down now (EVIOCGKEY), so that modifiers whose release was lost do not stick.
    private func heldKeys() -> [UInt16] {
        var bits = [UInt8](repeating: 0, count: 96)
        guard (try? SystemCall.run("ioctl") { storehub_evdev_key_state(fd, &bits, UInt32(bits.count)) }) != nil else {
            return []
        }
        return (0..<UInt16(bits.count * 8)).filter { bits[Int($0) / 8] & UInt8(1 << (Int($0) % 8)) != 0 }
    }

    func hangUp() -> ScannerError {
        ScannerError("\(path): the scanner went away (unplugged?)", cause: ScannerError.text(ENODEV), isTransient: true)
    }

    func close() {
        _ = try? SystemCall.run("ioctl") { storehub_evdev_grab(fd, 0) }
        Glibc.close(fd)
    }
}
