import Barcode
import Bus
import Capture
import Config
import EventLog
import Foundation
import HubCore
import Logging
import Pickup
import Prometheus
import Scanners
import Server
import ServiceLifecycle
import Sinks
import TryOn
import UnixSignals
import Uplink

/// The assembled daemon: event log, token store, bus, device pipelines and the server.
package struct Hub: Sendable {
    package let config: HubConfig
    package let log: EventLog
    package let tokens: TokenStore
    let bus: Bus
    let registry: DeviceRegistry
    /// The hub's metrics, which GET /metrics exports; a library that reports through swift-metrics reaches it when
    /// the process bootstraps `PrometheusMetricsFactory(registry: prometheus)`.
    package let prometheus = PrometheusCollectorRegistry()
    let pipelines: [any DevicePipeline]
    let server: HubServer
    let mirrors: MirrorHub?
    let sinks: SinkSet
    /// The listener's certificate when TLS is on.
    package let tlsIdentity: TLSIdentity?
    /// Forwards events to the chain's MQTT broker, when the config has an `uplink` section.
    let uplink: Uplink?
    let logger: Logger

    /// Opens the state and builds every pipeline. Throws ConfigError for descriptors it cannot run.
    package init(
        config: HubConfig, configDirectory: URL, devices: [DeviceDescriptor], stateDirectory: URL, logger: Logger
    ) throws {
        self.config = config
        self.logger = logger
        try StateDirectory.create(at: stateDirectory)
        let databasePath = stateDirectory.appendingPathComponent("hub.sqlite").path
        registry = DeviceRegistry(prometheus: prometheus)
        // The last status of each device is kept for new subscribers (the status page, screens).
        log = try EventLog(
            path: databasePath, settings: config.log, retaining: .deviceStatus, logger: logger,
            commitTimer: HubMetrics.commitTimer(prometheus))
        tokens = try TokenStore(path: databasePath)
        bus = Bus(log: log, settings: config.bus, hubID: config.hub, authenticator: tokens, logger: logger)
        let mirrors = try Self.mirrorHub(
            config: config, configDirectory: configDirectory, devices: devices, stateDirectory: stateDirectory,
            logger: logger)
        self.mirrors = mirrors
        if mirrors != nil {
            // The mirror pipelines read these topics; a publisher learns at once what they would refuse.
            bus.checkData(on: try TopicPattern(validating: "mirror.landmarks.*")) { BusLandmarks.problem(with: $0) }
            bus.checkData(on: try TopicPattern(validating: "mirror.command.*")) { MirrorControl.problem(with: $0) }
        }
        let pickup: PickupVerifier?
        do {
            pickup = try config.pickup.map(PickupVerifier.init)
        } catch {
            throw ConfigError(file: "the hub config", keyPath: "pickup.keys", problem: "\(error)")
        }
        var pipelines: [any DevicePipeline] = []
        for descriptor in devices {
            let reporter = DeviceReporter(
                descriptor: descriptor, hubID: config.hub, log: log, registry: registry, logger: logger, pickup: pickup)
            if descriptor.kind == .mirror, let mirrors {
                pipelines.append(try Self.mirrorPipeline(descriptor, reporter, mirrors: mirrors, bus: bus))
            } else {
                pipelines.append(
                    try Self.pipeline(for: descriptor, reporter: reporter))
            }
        }
        self.pipelines = pipelines
        // Relative to the config's folder (the demo), or absolute (an installed hub's /usr/share/storehub/status).
        let statusPage = config.statusPage.map {
            URL(fileURLWithPath: $0, relativeTo: configDirectory).standardizedFileURL.path
        }
        var uplink: Uplink?
        if let settings = config.uplink {
            uplink = try Uplink(
                settings: settings, hubID: config.hub, configDirectory: configDirectory, log: log, logger: logger,
                admitCommand: { [bus] bytes in bus.admitPublish(by: Uplink.commandPrincipal, bytes: bytes) })
        }
        self.uplink = uplink
        let metrics = HubMetrics(
            prometheus: prometheus, registry: registry, log: log, bus: bus, started: Date(), uplink: uplink)
        var server = HubServer(
            listen: config.listen, bus: bus, tokens: tokens, devices: registry, statusPage: statusPage,
            metrics: metrics, mirrors: mirrors, logger: logger)
        server.screens = try Self.screenDirectory(config: config, configDirectory: configDirectory, devices: devices)
        if let tls = config.listen.tls, tls.enabled {
            let identity = try TLSIdentity.load(
                settings: tls, configDirectory: configDirectory, stateDirectory: stateDirectory,
                hostNames: TLSIdentity.localNames(listenHost: config.listen.host))
            server.tls = identity.configuration
            tlsIdentity = identity
        } else {
            tlsIdentity = nil
        }
        let sinks: SinkSet
        do {
            sinks = try SinkSet(
                settings: config.sinks, log: log, databasePath: databasePath, configDirectory: configDirectory,
                logger: logger)
        } catch {
            throw ConfigError(file: "the hub config", keyPath: "sinks", problem: "\(error)")
        }
        server.sinks = sinks
        self.sinks = sinks
        server.uplink = uplink
        self.server = server
    }

    private static func pipeline(for descriptor: DeviceDescriptor, reporter: DeviceReporter) throws
        -> any DevicePipeline
    {
        switch descriptor.kind {
        case .kiosk: return try kioskPipeline(descriptor, reporter)
        case .scanner: return try scannerPipeline(descriptor, reporter)
        case .mirror:
            throw ConfigError(file: descriptor.file, keyPath: "kind", problem: "a mirror needs the hub's shade catalog")
        }
    }

    private static func kioskPipeline(_ descriptor: DeviceDescriptor, _ reporter: DeviceReporter) throws
        -> KioskPipeline
    {
        let symbologies: [Symbology]
        do {
            symbologies = try Symbology.parse(descriptor.decoder.symbologies)
        } catch {
            let index = descriptor.decoder.symbologies.firstIndex(of: error.name) ?? 0
            throw ConfigError(
                file: descriptor.file, keyPath: "decoder.symbologies[\(index)]", problem: error.description)
        }
        var strategies = DecodeStrategy.recommended
        if let names = descriptor.decoder.strategies {
            strategies = []
            for (index, name) in names.enumerated() {
                do {
                    strategies += try DecodeStrategy.parse([name])
                } catch {
                    throw ConfigError(
                        file: descriptor.file, keyPath: "decoder.strategies[\(index)]", problem: error.message)
                }
            }
        }
        let rules = try classRules(descriptor)
        let source: any FrameSource
        switch descriptor.camera {
        case .replay(let path, let fps, let loops, let hold)?:
            let folder = URL(
                fileURLWithPath: path, relativeTo: URL(fileURLWithPath: descriptor.file).deletingLastPathComponent())
            if let camera = descriptor.replayAsCamera {
                source = replayAsCamera(descriptor.id, camera, fps: fps, hold: hold, output: .luma) {
                    try CameraReplaySource.folderPictures(
                        folder: folder.standardizedFileURL, width: camera.width, height: camera.height)
                }
            } else {
                source = ReplaySource(folder: folder.standardizedFileURL, fps: fps, loops: loops, hold: hold)
            }
        case .v4l2(let path, let width, let height, let fps, let format, let controls, let stallSeconds)?:
            source = V4L2Camera(
                path: path, width: width, height: height, fps: fps, format: format,
                stallTimeout: .milliseconds(Int((stallSeconds * 1000).rounded())), controls: controls)
        case nil:
            throw ConfigError(file: descriptor.file, keyPath: "camera", problem: "a kiosk needs a camera")
        }
        return KioskPipeline(
            reporter: reporter, source: source, symbologies: symbologies, strategies: strategies,
            classifier: ScanClassifier(rules: rules))
    }

    private static func scannerPipeline(_ descriptor: DeviceDescriptor, _ reporter: DeviceReporter) throws
        -> ScannerPipeline
    {
        guard let settings = descriptor.scanner else {
            throw ConfigError(file: descriptor.file, keyPath: "scanner", problem: "a scanner needs a scanner section")
        }
        guard AIMIdentifier.symbologyNames.contains(settings.symbology) else {
            throw ConfigError(
                file: descriptor.file, keyPath: "scanner.symbology",
                problem:
                    "unknown symbology '\(settings.symbology)' (known: \(AIMIdentifier.symbologyNames.sorted().joined(separator: ", ")))"
            )
        }
        let source: any ScannerSource
        switch settings.connection {
        case .hid(let hid):
            let keymap: XKBKeymap
            do {
                keymap = try XKBKeymap(layout: hid.layout, variant: hid.variant)
            } catch {
                throw ConfigError(
                    file: descriptor.file, keyPath: hid.variant == nil ? "scanner.layout" : "scanner.variant",
                    problem: error.message)
            }
            source = HIDScanner.source(settings: settings, hid: hid, keymap: keymap)
        case .serial(let serial):
            source = SerialScanner.source(settings: settings, serial: serial)
        }
        return ScannerPipeline(
            reporter: reporter, source: source, classifier: ScanClassifier(rules: try classRules(descriptor)))
    }

    /// The descriptor's `decoder.classes`, checked: a bad pattern or symbology names its key path.
    private static func classRules(_ descriptor: DeviceDescriptor) throws -> [ScanClassifier.Rule] {
        var rules: [ScanClassifier.Rule] = []
        for (index, payloadClass) in descriptor.decoder.classes.enumerated() {
            do {
                rules.append(
                    try ScanClassifier.Rule(
                        name: payloadClass.name, pattern: payloadClass.pattern, symbologies: payloadClass.symbologies))
            } catch {
                let field = error.field.isEmpty ? "" : ".\(error.field)"
                throw ConfigError(
                    file: descriptor.file, keyPath: "decoder.classes[\(index)]\(field)", problem: error.message)
            }
        }
        return rules
    }

    /// Runs until SIGTERM or SIGINT, then stops devices, closes clients and flushes the log.
    package func run(onListening: @escaping @Sendable (Int) async -> Void) async throws {
        let notifier = SystemdNotifier()
        let registry = self.registry
        let application = try server.makeApplication { port in
            await onListening(port)
            let summary = SystemdStatus.status(registry.deviceSummaries())
            notifier.send("READY=1\nSTATUS=serving on port \(port); \(summary)")
        }
        let devices = DeviceService(pipelines: pipelines, bus: bus, log: log, mirrors: mirrors, logger: logger)
        let systemdStatus = SystemdStatus(notifier: notifier, registry: registry, log: log, logger: logger)
        // Services stop in reverse order: the systemd status (STOPPING=1), devices (their last status events are
        // committed), the uplink (offline status, DISCONNECT), then the server.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: application), .init(service: SinkService(sinks: sinks)),
        ]
        if let uplink { services.append(.init(service: uplink)) }
        services += [.init(service: devices), .init(service: systemdStatus)]
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        defer { log.close() }
        try await group.run()
        logger.info("storehub stopped; event log flushed")
    }
}

/// Runs every device pipeline and the log's retention until graceful shutdown.
struct DeviceService: Service {
    let pipelines: [any DevicePipeline]
    let bus: Bus
    let log: EventLog
    let mirrors: MirrorHub?
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for pipeline in pipelines {
                    group.addTask { await pipeline.run() }
                }
                group.addTask {
                    while !Task.isCancelled {
                        do {
                            try await log.applyRetention()
                            try await Task.sleep(for: .seconds(60))
                        } catch is CancellationError {
                            return
                        } catch {
                            logger.error("event log retention failed: \(error)")
                            try? await Task.sleep(for: .seconds(60))
                        }
                    }
                }
                await group.waitForAll()
            }
        }
        mirrors?.shutdown()
        bus.shutdown()
    }
}

/// Runs the webhook sinks until graceful shutdown; an event in flight then is delivered again after the restart.
struct SinkService: Service {
    let sinks: SinkSet

    func run() async throws {
        // A service that returns early would stop the whole group: with no sinks, wait for the shutdown.
        guard !sinks.sinks.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown { await sinks.run() }
    }
}
