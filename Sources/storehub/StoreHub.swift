import ArgumentParser
import Foundation
import HubCore

@main
struct StoreHubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storehub",
        abstract: "StoreHub: the in-store device hub (cameras, scanners, try-on mirrors) and its event bus.",
        version: StoreHubVersion.current,
        subcommands: [
            RunCommand.self, DevicesCommand.self, TokenCommand.self, DecodeCommand.self, TryOnCommand.self,
            TailCommand.self, PickupCommand.self,
            DoctorCommand.self, BenchLogCommand.self, BenchCaptureCommand.self, BenchLiveCommand.self,
            BenchDecodeMemoryCommand.self, PixelsCommand.self,
        ],
        defaultSubcommand: RunCommand.self
    )
}

/// Options that name the state directory.
struct StateOptions: ParsableArguments {
    @Option(name: .long, help: "State directory (event log, tokens). Default: the config's, else ./.storehub")
    var state: String?
}

/// Prints `message` to standard error as `storehub: message`.
func printError(_ message: String) {
    FileHandle.standardError.write(Data("storehub: \(message)\n".utf8))
}

/// Writes one line to standard output at once (no buffering), so a supervisor or test reading it sees it now.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
