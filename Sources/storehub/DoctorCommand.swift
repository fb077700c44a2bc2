import ArgumentParser
import Config
import FaceMesh
import Foundation
import HubCore
import Server

/// `storehub doctor`: everything the hub needs, checked before it is started, each problem with its fix.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract:
            "Check the configuration, devices and their permissions, the state directory, the port, tokens and face models.",
        discussion:
            "Prints one line per check and the fix for each problem. Exit status 0 when nothing is wrong, 1 otherwise.")

    @Option(name: .long, help: "Hub config file. Default: the demo store.") var config: String?
    @OptionGroup var stateOptions: StateOptions
    @Option(help: "Folder of the keyboard layouts (xkb-data), needed by HID scanners.")
    var xkbData = "/usr/share/X11/xkb"

    /// One finding: what was checked, and for a problem the fix.
    struct Finding {
        var ok: Bool
        var what: String
        var fix: String?
    }

    func run() throws {
        var findings: [Finding] = []
        defer {
            for finding in findings {
                print((finding.ok ? "ok       " : "PROBLEM  ") + finding.what)
                if let fix = finding.fix { print("         fix: \(fix)") }
            }
        }
        guard let configURL = config.map({ URL(fileURLWithPath: $0) }) ?? RunCommand.findDemoConfig() else {
            findings.append(Finding(ok: false, what: "no hub config", fix: "pass --config /etc/storehub/hub.json"))
            throw ExitCode.failure
        }
        let hubConfig: HubConfig
        let devices: [DeviceDescriptor]
        do {
            hubConfig = try ConfigFile.load(HubConfig.self, from: configURL, displayPath: configURL.path)
            let folder = URL(fileURLWithPath: hubConfig.devices, relativeTo: configURL.deletingLastPathComponent())
            devices = try DeviceDirectory.load(folder.standardizedFileURL)
            findings.append(Finding(ok: true, what: "config \(configURL.path) and \(devices.count) device descriptors"))
        } catch {
            findings.append(Finding(ok: false, what: "config: \(error)", fix: "correct the file and key named above"))
            throw ExitCode.failure
        }
        for descriptor in devices { findings += Self.checkDevice(descriptor, xkbData: xkbData) }
        let state = URL(
            fileURLWithPath: stateOptions.state ?? hubConfig.stateDirectory.map {
                URL(fileURLWithPath: $0, relativeTo: configURL.deletingLastPathComponent()).path
            } ?? ".storehub")
        findings += Self.checkState(state)
        findings.append(Self.checkPort(hubConfig.listen))
        if devices.contains(where: { $0.kind == .mirror }) {
            let models =
                hubConfig.models.map {
                    URL(fileURLWithPath: $0, relativeTo: configURL.deletingLastPathComponent()).standardizedFileURL
                } ?? state.appendingPathComponent("models")
            findings.append(Self.checkModels(models))
        }
        if findings.contains(where: { !$0.ok }) { throw ExitCode.failure }
    }

    static func checkDevice(_ descriptor: DeviceDescriptor, xkbData: String) -> [Finding] {
        var paths: [(String, Int32, String)] = []
        var findings: [Finding] = []
        switch descriptor.camera {
        case .v4l2(let path, _, _, _, _, _, _)?: paths.append((path, R_OK | W_OK, "video"))
        case .replay(let path, _, _, _)?:
            let folder = URL(
                fileURLWithPath: path, relativeTo: URL(fileURLWithPath: descriptor.file).deletingLastPathComponent())
            let exists = FileManager.default.fileExists(atPath: folder.standardizedFileURL.path)
            let mirror = descriptor.kind == .mirror
            findings.append(
                Finding(
                    ok: exists,
                    what:
                        "\(descriptor.id): \(mirror ? "portrait" : "replay folder") \(folder.standardizedFileURL.path)",
                    fix: exists
                        ? nil
                        : mirror
                            ? "fetch it: scripts/fetch-assets" : "create it, or generate the demo media: make media"))
        case nil: break
        }
        switch descriptor.scanner?.connection {
        case .hid(let hid)?:
            if let path = hid.path { paths.append((path, R_OK, "input")) }
            let layouts = FileManager.default.fileExists(atPath: "\(xkbData)/symbols/\(hid.layout)")
            findings.append(
                Finding(
                    ok: layouts, what: "\(descriptor.id): keyboard layout '\(hid.layout)' in \(xkbData)",
                    fix: layouts ? nil : "install the layouts: apt-get install xkb-data"))
        case .serial(let serial)?: paths.append((serial.path, R_OK | W_OK, "dialout"))
        case nil: break
        }
        for (path, mode, group) in paths {
            findings.append(checkNode(descriptor.id, path, mode: mode, group: group))
        }
        return findings
    }

    /// A device node: does it exist, and may this user open it as the hub does?
    static func checkNode(_ device: DeviceID, _ path: String, mode: Int32, group: String) -> Finding {
        guard FileManager.default.fileExists(atPath: path) else {
            return Finding(
                ok: false, what: "\(device): \(path) does not exist",
                fix: "plug the device in, or correct the path (storehub devices lists what is there)")
        }
        if access(path, mode) == 0 { return Finding(ok: true, what: "\(device): \(path) can be opened") }
        let user = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
        return Finding(
            ok: false, what: "\(device): \(path) cannot be opened by \(user) (permission denied)",
            fix: "add the user to the '\(group)' group: usermod -aG \(group) \(user), then log in again or restart")
    }

    static func checkState(_ state: URL) -> [Finding] {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: state.path, isDirectory: &isFolder) {
            guard isFolder.boolValue, access(state.path, R_OK | W_OK | X_OK) == 0 else {
                return [
                    Finding(
                        ok: false, what: "state directory \(state.path) is not a writable folder",
                        fix: "chown storehub: \(state.path) (systemd's StateDirectory= does it for the service)")
                ]
            }
        } else {
            let parent = state.deletingLastPathComponent().path
            let creatable = access(parent, W_OK | X_OK) == 0
            return [
                Finding(
                    ok: creatable, what: "state directory \(state.path) will be created on first run",
                    fix: creatable ? nil : "create it and give it to the hub's user: mkdir -p \(state.path)")
            ]
        }
        var findings = [Finding(ok: true, what: "state directory \(state.path) is writable")]
        let database = state.appendingPathComponent("hub.sqlite").path
        if let store = try? TokenStore(path: database), store.count > 0 {
            findings.append(Finding(ok: true, what: "\(store.count) access tokens"))
        } else {
            findings.append(
                Finding(
                    ok: false, what: "no access tokens in \(state.path)",
                    fix: "create one for staff and services: storehub token create --role admin --state \(state.path)"))
        }
        return findings
    }

    /// Binds the configured address and port for a moment.
    /// The mirrors' face models: both files there and loadable (a damaged file is named).
    static func checkModels(_ folder: URL) -> Finding {
        do {
            _ = try FaceLandmarker(modelsDirectory: folder)
            return Finding(ok: true, what: "face models in \(folder.path) load (mirrors find lips natively)")
        } catch {
            return Finding(
                ok: false, what: "face models: \(error.description)",
                fix:
                    "scripts/fetch-assets --cache \(folder.deletingLastPathComponent().path) puts them in \(folder.path) "
                    + "(or set \"models\" in hub.json); until then mirrors use the low-confidence classical locator")
        }
    }

    static func checkPort(_ listen: HubConfig.Listen) -> Finding {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: listen.port).bigEndian)
        guard inet_pton(AF_INET, listen.host, &address.sin_addr) == 1 else {
            return Finding(ok: true, what: "listen address \(listen.host) (not IPv4: not checked)")
        }
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if bound == 0 { return Finding(ok: true, what: "port \(listen.host):\(listen.port) is free") }
        let reason = String(cString: strerror(errno))
        return Finding(
            ok: false, what: "port \(listen.host):\(listen.port) cannot be used: \(reason)",
            fix: errno == EADDRINUSE
                ? "another program (or a running hub) uses it: stop it, or change listen.port in the config"
                : "choose another listen.host or listen.port in the config")
    }
}
