import Bus
import Config
import EventLog
import Foundation
import HubCore
import HummingbirdCore

/// The fuzz targets: what one input is fed to.
///
/// `protocol`: one client message, as text, to an authenticated admin session of a real bus over a real event log in
/// a temporary folder (the JSON decoder, field checks and every op's handling). `config`: one file's bytes to the
/// config loader, as a hub config and as a device descriptor. `query`: one input as a topic pattern and a topic
/// (checked, then matched both ways) and as the query string of a REST request (every parameter parser of the
/// routes, `GET /api/v1/events` whole).
enum Harness: String, CaseIterable {
    case `protocol`
    case config
    case query

    func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .protocol:
            let session = Self.bus.openSession(principal: Principal(tokenID: "fuzz", role: .admin), peer: "fuzz")
            session.receive(String(decoding: bytes, as: UTF8.self))
            while !session.drain().isEmpty {}
            session.close()
        case .config:
            let data = Data(bytes)
            _ = try? ConfigFile.decode(HubConfig.self, from: data, file: "hub.json")
            _ = try? ConfigFile.decode(DeviceDescriptor.self, from: data, file: "device.json")
        case .query:
            let text = String(decoding: bytes, as: UTF8.self)
            if let pattern = try? TopicPattern(validating: text) {
                for topic in Self.topics { _ = pattern.matches(topic) }
                _ = pattern.isCovered(by: Self.everything)
                _ = Self.everything.isCovered(by: pattern)
            }
            if (try? Topic.validate(text)) != nil {
                for pattern in Self.patterns { _ = pattern.matches(text) }
            }
            let query = ClientQuery(URI("/?" + text).queryParameters.map { (name: $0.key, value: $0.value) })
            _ = try? EventsQuery(query)
            _ = try? query.integer("limit", in: 1...1000, default: 100)
            if let ticket = try? query.value("ticket") { _ = PathValue.isHexID(ticket) }
            _ = try? PathValue.name(text, parameter: "id")
            _ = try? PathValue.hexID(text, suffix: ".jpg", parameter: "file")
        }
    }

    static let topics = ["scan.kiosk-pickup", "device.status.mirror-1", "mirror.command.mirror-1", "a", "a.b.c.d"]
    static let patterns = ["scan.*", "device.status.>", ">", "*.*", "mirror.command.mirror-1"].map {
        // The fixed patterns are valid; a failure here is the harness's, not the input's.
        try! TopicPattern(validating: $0)
    }
    static let everything = patterns[2]

    /// One bus for the whole run; its log lives in a fresh temporary folder.
    static let bus: Bus = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("storehub-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        do {
            let log = try EventLog(path: folder.appendingPathComponent("hub.sqlite").path, retaining: .deviceStatus)
            return Bus(log: log, settings: .init(), hubID: "fuzz", authenticator: AcceptNone())
        } catch {
            fatalError("storehub-fuzz: cannot open an event log in \(folder.path): \(error)")
        }
    }()

    /// Which target: STOREHUB_FUZZ_TARGET, `protocol` when unset.
    static let selected: Harness = {
        let name = ProcessInfo.processInfo.environment["STOREHUB_FUZZ_TARGET"] ?? "protocol"
        guard let harness = Harness(rawValue: name) else {
            fatalError("storehub-fuzz: STOREHUB_FUZZ_TARGET must be one of \(allCases.map(\.rawValue)), not '\(name)'")
        }
        return harness
    }()
}

/// Sessions in the harness are created authenticated; `auth` messages with any token are refused.
struct AcceptNone: Authenticator {
    func authenticate(token: String) -> Principal? { nil }
}

#if STOREHUB_FUZZ
    /// libFuzzer's entry point (built with `-sanitize=fuzzer -Xswiftc -DSTOREHUB_FUZZ`; libFuzzer brings `main`).
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        Harness.selected.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
#else
    /// Without libFuzzer: `storehub-fuzz TARGET FILE...` feeds files to a target, to replay a crash in a normal build.
    @main
    struct Replay {
        static func main() {
            let arguments = CommandLine.arguments.dropFirst()
            guard let name = arguments.first, let harness = Harness(rawValue: name) else {
                FileHandle.standardError.write(
                    Data(
                        "usage: storehub-fuzz \(Harness.allCases.map(\.rawValue).joined(separator: "|")) FILE...\n".utf8
                    ))
                exit(64)
            }
            for path in arguments.dropFirst() {
                guard let data = FileManager.default.contents(atPath: path) else {
                    FileHandle.standardError.write(Data("storehub-fuzz: cannot read \(path)\n".utf8))
                    exit(66)
                }
                data.withUnsafeBytes { harness.run($0) }
                print("\(path): ok")
            }
        }
    }
#endif
