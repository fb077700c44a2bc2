import ArgumentParser
import CLinuxInput
import Foundation
import Scanners

/// Tools for testing keyboard-wedge scanners against the kernel's own input drivers (in the VM test): a uinput
/// keyboard that types barcodes under a layout, and a reader that counts what another reader of a device sees.
@main
struct TestKit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storehub-testkit", abstract: "Scanner test tools: a uinput keyboard and an event reader.",
        subcommands: [KeyboardCommand.self, ReadCommand.self])
}

/// Prints a line and flushes, so a script reading the output sees it at once.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

struct TestKitError: Error, CustomStringConvertible {
    var description: String
}

struct KeyboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyboard",
        abstract: "A virtual USB keyboard (uinput) driven by commands on standard input, one per line.",
        discussion: """
            Commands: `create` (prints `created /dev/input/eventN`), `type TEXT` (types TEXT and the terminator, \
            prints `typed N keys, last at UNIX-SECONDS`), `partial TEXT` (no terminator), `destroy` (prints \
            `destroyed`), `quit`. Characters are turned into keys and modifiers through xkbcommon for --layout.
            """)

    @Option(help: "xkb layout the text is typed in (us, de, fr, ...).") var layout = "us"
    @Option(help: "xkb variant of the layout.") var variant: String?
    @Option(help: "USB vendor id, hex.") var vendor = "0c2e"
    @Option(help: "USB product id, hex.") var product = "0b61"
    @Option(help: "Key sent after each `type`: enter, tab or none.") var terminator = "enter"
    @Option(help: "Pause after each character, as a scanner's inter-character delay.") var keyDelayMs = 10
    @Option(help: "Pause after each key event, as a USB keyboard's report interval.") var reportDelayMs = 1

    func run() throws {
        let keymap = try XKBKeymap(layout: layout, variant: variant)
        guard let vendorID = UInt16(vendor, radix: 16), let productID = UInt16(product, radix: 16) else {
            throw TestKitError(description: "--vendor and --product are hex numbers such as 0c2e")
        }
        var device: VirtualKeyboard?
        while let line = readLine() {
            let command = line.prefix { $0 != " " }
            let argument = line.count > command.count ? String(line.dropFirst(command.count + 1)) : ""
            switch command {
            case "create":
                device?.destroy()
                let created = try VirtualKeyboard(vendor: vendorID, product: productID)
                device = created
                say("created \(created.eventPath)")
            case "type", "partial":
                guard let keyboard = device else { throw TestKitError(description: "`\(command)` before `create`") }
                var strokes = try keymap.keystrokes(for: argument)
                if command == "type" {
                    switch terminator {
                    case "enter": strokes.append(.init(code: XKBKeymap.enterKey, modifiers: []))
                    case "tab": strokes.append(.init(code: XKBKeymap.tabKey, modifiers: []))
                    default: break
                    }
                }
                let last = try keyboard.type(
                    strokes, pause: useconds_t(max(0, keyDelayMs) * 1000),
                    reportPause: useconds_t(max(0, reportDelayMs) * 1000))
                say("typed \(strokes.count) keys, last at \(String(format: "%.6f", last.timeIntervalSince1970))")
            case "destroy":
                device?.destroy()
                device = nil
                say("destroyed")
            case "quit":
                device?.destroy()
                return
            case "":
                continue
            default:
                throw TestKitError(description: "unknown command '\(command)'")
            }
        }
        device?.destroy()
    }
}

/// A uinput keyboard with every key a barcode needs.
final class VirtualKeyboard {
    let fd: Int32
    let eventPath: String
    private var destroyed = false

    init(vendor: UInt16, product: UInt16) throws {
        let fd = open("/dev/uinput", O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw TestKitError(description: "/dev/uinput: \(String(cString: strerror(errno))) (is uinput loaded?)")
        }
        func check(_ result: Int32, _ what: String) throws {
            if result < 0 {
                let text = String(cString: strerror(errno))
                close(fd)
                throw TestKitError(description: "\(what): \(text)")
            }
        }
        try check(storehub_uinput_set_evbit(fd, Int32(EV_KEY)), "UI_SET_EVBIT EV_KEY")
        try check(storehub_uinput_set_evbit(fd, Int32(EV_SYN)), "UI_SET_EVBIT EV_SYN")
        for code in 1...127 { try check(storehub_uinput_set_keybit(fd, Int32(code)), "UI_SET_KEYBIT \(code)") }
        var setup = uinput_setup()
        setup.id = input_id(bustype: UInt16(BUS_USB), vendor: vendor, product: product, version: 1)
        withUnsafeMutableBytes(of: &setup.name) { raw in
            let name = Array("StoreHub test scanner".utf8)
            raw.copyBytes(from: name.prefix(raw.count - 1))
        }
        try check(storehub_uinput_setup(fd, &setup), "UI_DEV_SETUP")
        try check(storehub_uinput_create(fd), "UI_DEV_CREATE")
        var sysname = [CChar](repeating: 0, count: 64)
        try check(storehub_uinput_sysname(fd, &sysname, UInt32(sysname.count)), "UI_GET_SYSNAME")
        let name = String(decoding: sysname.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let folder = "/sys/devices/virtual/input/\(name)"
        let event = (try? FileManager.default.contentsOfDirectory(atPath: folder))?.first { $0.hasPrefix("event") }
        guard let event else {
            close(fd)
            throw TestKitError(description: "no event node under \(folder)")
        }
        self.fd = fd
        eventPath = "/dev/input/\(event)"
        // devtmpfs makes the node by itself; wait until it is there (at most 5 s).
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: eventPath) { usleep(10_000) }
    }

    /// Types the keystrokes; returns when the last key event was written.
    func type(_ strokes: [XKBKeymap.Keystroke], pause: useconds_t, reportPause: useconds_t) throws -> Date {
        var last = Date()
        for (index, stroke) in strokes.enumerated() {
            if index > 0 && pause > 0 { usleep(pause) }
            for modifier in stroke.modifiers { try emit(modifier, 1, reportPause) }
            try emit(stroke.code, 1, reportPause)
            try emit(stroke.code, 0, reportPause)
            for modifier in stroke.modifiers.reversed() { try emit(modifier, 0, reportPause) }
            last = Date()
        }
        return last
    }

    private func emit(_ code: UInt16, _ value: Int32, _ pause: useconds_t) throws {
        if pause > 0 { usleep(pause) }
        var events = [
            input_event(time: timeval(), type: UInt16(EV_KEY), code: code, value: value),
            input_event(time: timeval(), type: UInt16(EV_SYN), code: UInt16(SYN_REPORT), value: 0),
        ]
        let size = MemoryLayout<input_event>.stride * events.count
        let written = events.withUnsafeMutableBytes { write(fd, $0.baseAddress, size) }
        guard written == size else {
            throw TestKitError(description: "writing a key event failed: \(String(cString: strerror(errno)))")
        }
    }

    func destroy() {
        guard !destroyed else { return }
        destroyed = true
        _ = storehub_uinput_destroy(fd)
        close(fd)
    }
}

struct ReadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "Counts the key events another reader of an input device sees.")

    @Option(help: "The event device, e.g. /dev/input/event3.") var path: String
    @Option(help: "How long to read.") var seconds: Double = 2

    func run() throws {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw TestKitError(description: "\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        say("reading \(path)")
        let end = Date().addingTimeInterval(seconds)
        var keys = 0
        var events = [input_event](repeating: input_event(), count: 64)
        while true {
            let left = end.timeIntervalSinceNow
            if left <= 0 { break }
            var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard Glibc.poll(&poll, 1, Int32(left * 1000) + 1) > 0 else { continue }
            let count = events.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            keys += events.prefix(count / MemoryLayout<input_event>.stride).filter { $0.type == UInt16(EV_KEY) }.count
        }
        say("events \(keys)")
    }
}
