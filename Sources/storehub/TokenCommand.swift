import ArgumentParser
import Foundation
import HubCore
import Server

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Manage access tokens.", subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it once. Only its hash is stored.")

        @Option(name: .long, help: "admin, staff, service or device.")
        var role: String

        @Option(name: .long, help: "For --role device: the device id the token speaks for.")
        var device: String?

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
            do {
                print(try store.create(role: role, label: label, device: deviceID).token)
            } catch let error as TokenError {
                printError("\(error)")
                throw ExitCode.usage
            }
        }
    }
}
