import ArgumentParser
import Capture
import CoreFoundation
import Foundation

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract:
            "List cameras (with formats, sizes and rates), input devices that could be scanners, and serial ports.")

    @Flag(help: "Print JSON for machines.") var json = false

    @Option(help: "Device folder to look in (for tests).") var dev = "/dev"

    @Option(help: "sysfs folder to read input device names from (for tests).") var sys = "/sys"

    struct Listing: Codable {
        var cameras: [Camera] = []
        var inputs: [Input] = []
        var serialPorts: [Port] = []
    }

    struct Camera: Codable {
        var path: String
        var stableNames: [String]
        var info: V4L2DeviceInfo?
        var problem: String?
    }

    struct Input: Codable {
        var path: String
        var stableNames: [String]
        var name: String
        var vendorProduct: String?
        var hasKeys: Bool
        var problem: String?
    }

    struct Port: Codable {
        var path: String
        var stableNames: [String]
        var problem: String?
    }

    func run() throws {
        var listing = Listing()
        let videoLinks = stableNames(in: ["\(dev)/v4l/by-id", "\(dev)/v4l/by-path"])
        for path in nodes(prefix: "video") {
            var camera = Camera(path: path, stableNames: videoLinks[path] ?? [])
            do {
                camera.info = try V4L2DeviceInfo.query(path)
            } catch {
                camera.problem = explain(path, error.message, group: "video")
            }
            listing.cameras.append(camera)
        }
        let inputLinks = stableNames(in: ["\(dev)/input/by-id", "\(dev)/input/by-path"])
        for path in nodes(prefix: "event", folder: "\(dev)/input") {
            let node = (path as NSString).lastPathComponent
            let base = "\(sys)/class/input/\(node)/device"
            let name = read("\(base)/name") ?? "unknown"
            let vendor = read("\(base)/id/vendor")
            let product = read("\(base)/id/product")
            let keys = read("\(base)/capabilities/key") ?? "0"
            var input = Input(
                path: path, stableNames: inputLinks[path] ?? [], name: name,
                vendorProduct: vendor.flatMap { v in product.map { "\(v):\($0)" } },
                hasKeys: keys.split(separator: " ").contains { $0 != "0" })
            if access(path, R_OK) != 0 { input.problem = explain(path, "cannot be read", group: "input") }
            listing.inputs.append(input)
        }
        let serialLinks = stableNames(in: ["\(dev)/serial/by-id", "\(dev)/serial/by-path"])
        for path in nodes(prefix: "ttyUSB") + nodes(prefix: "ttyACM") {
            var port = Port(path: path, stableNames: serialLinks[path] ?? [])
            if access(path, R_OK | W_OK) != 0 { port.problem = explain(path, "cannot be opened", group: "dialout") }
            listing.serialPorts.append(port)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(listing), as: UTF8.self))
        } else {
            printText(listing)
        }
    }

    private func printText(_ listing: Listing) {
        print("Cameras:")
        if listing.cameras.isEmpty { print("  none found in \(dev)") }
        for camera in listing.cameras {
            let names = camera.stableNames.isEmpty ? "" : " (\(camera.stableNames.joined(separator: ", ")))"
            print("  \(camera.path)\(names)")
            if let problem = camera.problem { print("    problem: \(problem)") }
            guard let info = camera.info else { continue }
            print("    driver \(info.driver), card \(info.card), bus \(info.busInfo)")
            print("    capabilities: \(info.capabilities.joined(separator: ", "))")
            for format in info.formats {
                print("    \(format.fourcc) (\(format.description))")
                for size in format.sizes {
                    let rates = size.fps.map { String(format: "%g", $0) }.joined(separator: ", ")
                    print("      \(size.width)x\(size.height)" + (rates.isEmpty ? "" : " @ \(rates) fps"))
                }
            }
            if !info.controls.isEmpty { print("    controls (set them with camera.controls in the descriptor):") }
            for control in info.controls {
                let value = control.value.map { " value=\($0)" } ?? ""
                print(
                    "      \(control.name) (\(control.type)) min=\(control.minimum) max=\(control.maximum)"
                        + " step=\(control.step) default=\(control.defaultValue)\(value)"
                        + (control.inactive ? " inactive" : ""))
            }
        }
        print("Input devices (a scanner is one with keys; choose it by its by-id path or vendor:product):")
        if listing.inputs.isEmpty { print("  none found in \(dev)/input") }
        for input in listing.inputs {
            let names = input.stableNames.isEmpty ? "" : " (\(input.stableNames.joined(separator: ", ")))"
            let id = input.vendorProduct.map { " [\($0)]" } ?? ""
            print("  \(input.path)\(names): \(input.name)\(id)\(input.hasKeys ? ", has keys" : "")")
            if let problem = input.problem { print("    problem: \(problem)") }
        }
        print("Serial ports:")
        if listing.serialPorts.isEmpty { print("  none found in \(dev)") }
        for port in listing.serialPorts {
            let names = port.stableNames.isEmpty ? "" : " (\(port.stableNames.joined(separator: ", ")))"
            print("  \(port.path)\(names)")
            if let problem = port.problem { print("    problem: \(problem)") }
        }
    }

    /// Device nodes `folder/prefixN`, in numeric order.
    private func nodes(prefix: String, folder: String? = nil) -> [String] {
        let folder = folder ?? dev
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasPrefix(prefix) && Int($0.dropFirst(prefix.count)) != nil }
            .sorted { Int($0.dropFirst(prefix.count))! < Int($1.dropFirst(prefix.count))! }
            .map { "\(folder)/\($0)" }
    }

    /// Maps each device node to the stable symlinks that point at it.
    private func stableNames(in folders: [String]) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for folder in folders {
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() {
                let link = "\(folder)/\(name)"
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link) else { continue }
                let resolved = URL(fileURLWithPath: target, relativeTo: URL(fileURLWithPath: folder + "/"))
                    .standardizedFileURL.path
                result[resolved, default: []].append(link)
            }
        }
        return result
    }

    private func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Adds the fix for permission problems: which group to join.
    private func explain(_ path: String, _ message: String, group fallback: String) -> String {
        guard access(path, R_OK) != 0, errno == EACCES else { return message }
        var info = stat()
        var group = fallback
        if stat(path, &info) == 0, let entry = getgrgid(info.st_gid) { group = String(cString: entry.pointee.gr_name) }
        return "permission denied: add the user running storehub to the '\(group)' group "
            + "(sudo usermod -aG \(group) USER, then log in again)"
    }
}
