import ArgumentParser
import Config
import Foundation
import HubCore
import Server

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Manage access tokens.", subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it once. Only its hash is stored.")

        @Option(name: .long, help: "admin, staff, service, device or screen.")
        var role: String

        @Option(name: .long, help: "For --role device or screen: the device id the token speaks for.")
        var device: String?

        @Option(
            name: .long, help: "For --role screen: the hub config that describes the device. Default: the demo store.")
        var config: String?

        @Option(name: .long, help: "What the token is for, e.g. order-service.")
        var label: String = "cli"

        @OptionGroup var stateOptions: StateOptions

        func run() throws {
            guard let role = Role(rawValue: role) else {
                printError("unknown role '\(role)' (known: \(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
                throw ExitCode.usage
            }
            let state = URL(fileURLWithPath: stateOptions.state ?? ".storehub")
            try StateDirectory.create(at: state)
            let store = try TokenStore(path: state.appendingPathComponent("hub.sqlite").path)
            var deviceID: DeviceID?
            if let device {
                do {
                    deviceID = try DeviceID(validating: device)
                } catch {
                    printError("--device '\(device)': \(error)")
                    throw ExitCode.usage
                }
            }
            var kind: DeviceKind?
            if role == .screen, let deviceID { kind = try screenKind(of: deviceID) }
            do {
                print(try store.create(role: role, label: label, device: deviceID, deviceKind: kind).token)
            } catch let error as TokenError {
                printError("\(error)")
                throw ExitCode.usage
            }
        }

        /// A screen belongs to a kiosk or a mirror: which one `device` is, from the hub's descriptors.
        private func screenKind(of device: DeviceID) throws -> DeviceKind {
            guard let configURL = config.map({ URL(fileURLWithPath: $0) }) ?? RunCommand.findDemoConfig() else {
                printError("--role screen needs --config (the hub config that describes \(device))")
                throw ExitCode(64)
            }
            let descriptors: [DeviceDescriptor]
            do {
                let hubConfig = try ConfigFile.load(HubConfig.self, from: configURL, displayPath: configURL.path)
                let folder = URL(fileURLWithPath: hubConfig.devices, relativeTo: configURL.deletingLastPathComponent())
                descriptors = try DeviceDirectory.load(folder.standardizedFileURL)
            } catch {
                printError("config error: \(error)")
                throw ExitCode(78)
            }
            guard let kind = descriptors.first(where: { $0.id == device })?.kind, kind == .kiosk || kind == .mirror
            else {
                printError("--device '\(device)': no kiosk or mirror of that id in \(configURL.path)")
                throw ExitCode(64)
            }
            return kind
        }
    }
}
