import ArgumentParser
import Config
import Foundation
import Hub
import HubCore
import Logging
import Metrics
import NIOCore
import Prometheus
import Server

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the hub. Without --config it runs the embedded demo store (Devices/demo).")

    @Option(name: .long, help: "Hub config file (JSON). Device descriptors are read from the folder it names.")
    var config: String?

    @OptionGroup var stateOptions: StateOptions

    @Option(name: .long, help: "Address to listen on (overrides the config). Default 127.0.0.1.")
    var host: String?

    @Option(name: .long, help: "Port to listen on (overrides the config); 0 picks a free one.")
    var port: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "storehub")
        let (configURL, hubConfig, devices) = try loadConfig()
        let stateURL = URL(
            fileURLWithPath: stateOptions.state ?? hubConfig.stateDirectory.map {
                URL(fileURLWithPath: $0, relativeTo: configURL.deletingLastPathComponent()).path
            } ?? ".storehub")
        let hub = try openHub(hubConfig, configURL: configURL, devices: devices, stateURL: stateURL, logger: logger)
        // What the process's libraries report through swift-metrics joins the hub's own figures in GET /metrics.
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: hub.prometheus))
        try announce(hub, hubConfig, configURL: configURL, devices: devices, stateURL: stateURL, logger: logger)
        try await serve(hub, listen: hubConfig.listen)
    }

    /// The hub config (the demo store's without --config) with --host and --port applied, and its devices.
    /// A config that cannot be read stops the command with EX_CONFIG and says what to fix.
    private func loadConfig() throws -> (URL, HubConfig, [DeviceDescriptor]) {
        guard let configURL = config.map({ URL(fileURLWithPath: $0) }) ?? Self.findDemoConfig() else {
            printError(
                "no --config given and the demo store (Devices/demo/hub.json) was not found; run from the StoreHub checkout"
            )
            throw ExitCode.config
        }
        do {
            var hubConfig = try ConfigFile.load(
                HubConfig.self, from: configURL, displayPath: config ?? Self.relative(configURL))
            if let host { hubConfig.listen.host = host }
            if let port { hubConfig.listen.port = port }
            let folder = URL(fileURLWithPath: hubConfig.devices, relativeTo: configURL.deletingLastPathComponent())
            return (configURL, hubConfig, try DeviceDirectory.load(folder.standardizedFileURL))
        } catch {
            printError("config error: \(error)")
            printError("the hub did not start; fix the file above and run again")
            throw ExitCode.config
        }
    }

    /// Opens the hub on its state directory; each kind of failure gets its own exit code and line.
    private func openHub(
        _ hubConfig: HubConfig, configURL: URL, devices: [DeviceDescriptor], stateURL: URL, logger: Logger
    ) throws -> Hub {
        do {
            return try Hub(
                config: hubConfig, configDirectory: configURL.deletingLastPathComponent(), devices: devices,
                stateDirectory: stateURL, logger: logger)
        } catch let error as ConfigError {
            printError("config error: \(error)")
            throw ExitCode.config
        } catch let error as TLSSetupError {
            printError("TLS error: \(error); fix listen.tls in the config")
            throw ExitCode.config
        } catch {
            printError("cannot open the state in \(stateURL.path): \(error)")
            throw ExitCode.cannotCreate
        }
    }

    /// Refuses a LAN address without tokens, makes the first-run admin token (and the demo's staff token) and
    /// prints them once, and names the TLS certificate in use.
    private func announce(
        _ hub: Hub, _ hubConfig: HubConfig, configURL: URL, devices: [DeviceDescriptor], stateURL: URL, logger: Logger
    ) throws {
        if !hubConfig.listen.isLoopback && hub.tokens.count == 0 {
            printError(
                "refusing to listen on \(hubConfig.listen.host) without tokens: anyone on the network could connect. "
                    + "Create one first: storehub token create --role admin --state \(stateURL.path)")
            throw ExitCode.config
        }
        if hub.tokens.count == 0 {
            let admin = try hub.tokens.create(role: .admin, label: "first-run-admin")
            say("Admin token, shown only this once: \(admin.token)")
        }
        if config == nil {
            try hub.tokens.revoke(label: "demo-session")
            let staff = try hub.tokens.create(role: .staff, label: "demo-session")
            say(
                "StoreHub demo store: \(devices.count) devices from \(Self.relative(configURL.deletingLastPathComponent()))"
            )
            say("Staff token for this run: \(staff.token)")
        }
        if let identity = hub.tlsIdentity {
            let origin = identity.generated ? "made a self-signed certificate" : "using the certificate"
            say("TLS: \(origin) \(identity.certificatePath)")
            say("TLS certificate SHA-256 fingerprint: \(identity.fingerprint)")
            logger.notice("TLS certificate \(identity.certificatePath), SHA-256 fingerprint \(identity.fingerprint)")
        }
    }

    /// Runs the hub until it is stopped; prints the status page's address once it listens. A port in use or an
    /// address this box does not have is EX_UNAVAILABLE with what to change.
    private func serve(_ hub: Hub, listen: HubConfig.Listen) async throws {
        let host = listen.host
        let port = listen.port
        let scheme = hub.tlsIdentity == nil ? "http" : "https"
        do {
            try await hub.run { port in
                let shownHost = host.contains(":") ? "[\(host)]" : host
                say("Status page: \(scheme)://\(shownHost):\(port)/")
            }
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            printError(
                "cannot listen on \(host):\(port): the port is in use by another program "
                    + "(another storehub?). Stop it, or choose another port with --port.")
            throw ExitCode.unavailable
        } catch let error as IOError where error.errnoCode == EADDRNOTAVAIL || error.errnoCode == EACCES {
            printError("cannot listen on \(host):\(port): \(error). Check listen.host and listen.port in the config.")
            throw ExitCode.unavailable
        } catch {
            printError("stopped by an error: \(error)")
            throw ExitCode.software
        }
    }

    /// Devices/demo/hub.json in the working directory, else beside the executable's checkout.
    static func findDemoConfig() -> URL? {
        let relative = "Devices/demo/hub.json"
        let here = URL(fileURLWithPath: relative)
        if FileManager.default.fileExists(atPath: here.path) { return here }
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = folder.appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return nil
    }

    static func relative(_ url: URL) -> String {
        let cwd = FileManager.default.currentDirectoryPath + "/"
        let path = url.standardizedFileURL.path
        return path.hasPrefix(cwd) ? String(path.dropFirst(cwd.count)) : path
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
