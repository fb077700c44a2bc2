import ArgumentParser
import Foundation
import HubCore
import Pickup

/// `storehub pickup keygen|sign`: the order service's side of signed pickup codes, for set-up and tests.
struct PickupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pickup", abstract: "Make keys and signed pickup codes (docs/pickup.md).",
        subcommands: [Keygen.self, Sign.self])

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print a new Ed25519 key pair as JSON: the private key for the order service, the entry for hub.json.")

        @Option(name: .long, help: "The key's id in codes and in pickup.keys (1-32 of a-z 0-9 -).")
        var id: String

        func run() throws {
            guard PickupCodeFormat.isKeyID(id) else {
                printError("--id '\(id.prefix(40))': 1 to 32 of a-z 0-9 -")
                throw ExitCode(64)
            }
            let (privateKey, publicKey) = PickupSigner.makeKey()
            let out: JSONValue = .object([
                "id": .string(id), "privateKey": .string(privateKey),
                "hubConfig": .object(["id": .string(id), "publicKey": .string(publicKey)]),
            ])
            say(String(decoding: out.jsonBytes, as: UTF8.self))
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a signed pickup code for one order.")

        @Option(name: .long, help: "The order id (1-64 of A-Z a-z 0-9 - _).")
        var order: String

        @Option(name: .long, help: "The key id the hub knows the public key by.")
        var keyId: String

        @Option(
            name: .long,
            help:
                "The private key as keygen printed it, given as --private-key=KEY (a key may start with -); or set STOREHUB_PICKUP_KEY."
        )
        var privateKey: String?

        @Option(
            name: .long,
            help: "Seconds from now until the code expires (negative, as --expires-in=-60: already expired).")
        var expiresIn: Int = 7 * 24 * 3600

        func run() throws {
            guard let key = privateKey ?? ProcessInfo.processInfo.environment["STOREHUB_PICKUP_KEY"] else {
                printError("no private key: pass --private-key or set STOREHUB_PICKUP_KEY")
                throw ExitCode(64)
            }
            do {
                say(
                    try PickupSigner.sign(
                        orderID: order, expires: Date().addingTimeInterval(TimeInterval(expiresIn)), keyID: keyId,
                        privateKey: key))
            } catch {
                printError("\(error)")
                throw ExitCode(64)
            }
        }
    }
}
