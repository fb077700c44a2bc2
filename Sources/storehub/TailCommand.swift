import ArgumentParser
import Foundation
import HTTPTypes
import HubCore
import HummingbirdWSClient
import Logging
import NIOWebSocket
import Synchronization

/// `storehub tail`: a bus client that prints events as they arrive, for IT at the shop and for benchmarks.
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print the bus's events as they arrive, one JSON object per line.",
        discussion: """
            The token comes from the environment variable STOREHUB_TOKEN (a staff, service or admin token), so it
            does not show in the process list. Exit status 0 after --count events or when the hub closes the
            connection, 1 when the hub refuses the token or cannot be reached.
            """)

    @Argument(help: "Topic pattern, e.g. 'scan.>' or 'device.status.kiosk-pickup'.")
    var topic = ">"

    @Option(help: "The bus endpoint.")
    var url = "ws://127.0.0.1:8080/api/v1/bus"

    @Option(help: "Stop after this many events.")
    var count: Int?

    @Flag(help: "Start each line with the time the event was received, in seconds since 1970 (UTC), and a space.")
    var receiveTime = false

    func run() async throws {
        guard let token = ProcessInfo.processInfo.environment["STOREHUB_TOKEN"], !token.isEmpty else {
            printError("set STOREHUB_TOKEN to a token (storehub token create --role staff)")
            throw ExitCode.usage
        }
        if let count, count < 1 { throw ArgumentParser.ValidationError("--count must be at least 1") }
        var configuration = WebSocketClientConfiguration()
        configuration.additionalHeaders[.authorization] = "Bearer \(token)"
        configuration.maxFrameSize = 1 << 20
        var outcome = TailOutcome.greetingLost
        for _ in 0..<Self.attempts {
            outcome = try await follow(configuration: configuration)
            if case .greetingLost = outcome { continue }
            break
        }
        switch outcome {
        case .greetingLost:
            printError(
                "the hub at \(url) did not greet on \(Self.attempts) connections (no hello within "
                    + "\(Self.greetingTimeout)); is it a StoreHub bus endpoint?")
            throw ExitCode.failure
        case .refused(let message):
            if let message { printError(message) }
            throw ExitCode.failure
        case .ended:
            return
        }
    }

    /// The hub sends `hello` as soon as a connection is open. Some WebSocket clients, this one included, can lose
    /// frames that arrive in the same read as the upgrade response; a connection without its greeting is then
    /// opened again rather than left waiting, or taken for the hub's silence.
    static let greetingTimeout: Duration = .seconds(3)
    static let attempts = 3

    /// One connection: what ended it.
    private func follow(configuration: WebSocketClientConfiguration) async throws -> TailOutcome {
        let subscribe = JSONValue.object(["op": .string("subscribe"), "id": .string("tail"), "topic": .string(topic)])
        let (url, topic, count, receiveTime) = (self.url, self.topic, self.count, self.receiveTime)
        let refusal = RefusalBox()
        let greeted = Greeting()
        let logger = Logger(label: "storehub.tail")
        return try await withThrowingTaskGroup(of: TailOutcome?.self) { group in
            group.addTask {
                try await Task.sleep(for: Self.greetingTimeout)
                return greeted.seen.load(ordering: .acquiring) ? nil : .greetingLost
            }
            group.addTask {
                let closed: WebSocketCloseFrame?
                do {
                    closed = try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) {
                        inbound, outbound, _ in
                        try await outbound.write(.text(String(decoding: subscribe.jsonBytes, as: UTF8.self)))
                        var printed = 0
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            greeted.seen.store(true, ordering: .releasing)
                            guard case .text(let text) = message,
                                case .object(let fields)? = try? JSONParser.parse(text)
                            else { continue }
                            switch fields["op"] {
                            case .string("event"):
                                guard let event = fields["event"] else { continue }
                                let line = String(decoding: event.jsonBytes, as: UTF8.self)
                                if receiveTime {
                                    say(String(format: "%.6f ", Date().timeIntervalSince1970) + line)
                                } else {
                                    say(line)
                                }
                                printed += 1
                                if let count, printed >= count { return }
                            case .string("error"):
                                let message = fields["message"].flatMap {
                                    if case .string(let s) = $0 { s } else { nil }
                                }
                                refusal.message = message ?? text
                                printError(
                                    "the hub answered subscribing to '\(topic)' with: \(refusal.message ?? text)")
                            default:
                                continue
                            }
                        }
                    }
                } catch {
                    if Task.isCancelled { return nil }
                    printError("cannot follow the bus at \(url): \(error)")
                    throw ExitCode.failure
                }
                // Said as it came: a refused subscription does not always end the connection.
                if refusal.message != nil { return .refused(nil) }
                // The hub's 44xx close codes refuse the connection (docs/protocol.md). Its error message comes
                // before the close, but a connection closed at once may end before the client has read it: the
                // code still says why.
                if let closed, case .unknown(let code) = closed.closeCode, (4400..<4500).contains(code) {
                    let meaning = code == 4401 ? "token not accepted" : code == 4403 ? "origin not allowed" : "refused"
                    return .refused(
                        "the hub closed the connection: \(meaning) (close \(code), \(closed.reason ?? "no reason"))")
                }
                return greeted.seen.load(ordering: .acquiring) ? .ended : .greetingLost
            }
            while let next = try await group.next() {
                guard let outcome = next else { continue }
                group.cancelAll()
                return outcome
            }
            return .greetingLost
        }
    }
}

/// Whether the hub's first message has come, seen by the greeting watchdog.
private final class Greeting: Sendable {
    let seen = Atomic<Bool>(false)
}

/// How one connection of `storehub tail` ended.
private enum TailOutcome: Sendable {
    /// --count events were printed, or the hub closed the connection after greeting.
    case ended
    /// The hub refused the token, the origin or the subscription: what to say (nil: its error was said already).
    case refused(String?)
    /// No `hello` came: the connection is opened again.
    case greetingLost
}

/// The hub's error message, carried out of the client's handler.
private final class RefusalBox: @unchecked Sendable {
    // @unchecked: written by the handler task, read only after the client has returned.
    var message: String?
}
