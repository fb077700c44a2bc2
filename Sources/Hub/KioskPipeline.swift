import Barcode
import Capture
import Config
import EventLog
import Foundation
import HubCore
import Logging
import Synchronization

/// One kiosk: camera → motion gate → zbar and decode strategies → duplicate filter → classes and GS1 →
/// scan events in the log, under DevicePipeline's supervision.
///
/// The pipeline never talks to a socket: it appends to the log, and the bus delivers from there.
///
/// Keeping up with live video: frames where nothing moved are skipped (`MotionGate`), and after a frame was
/// decoded the pipeline lets frames pass undecoded until the decoder's average use is back under
/// `maxCpuShare` of one core. The source always hands over its newest frame, so nothing queues up.
struct KioskPipeline: CameraPipeline {
    let reporter: DeviceReporter
    let source: any FrameSource
    let symbologies: [Symbology]
    let strategies: [DecodeStrategy]
    let classifier: ScanClassifier
    /// How often an online device repeats its status with fresh counters.
    var healthInterval: Duration = .seconds(30)
    /// Lives across reconnects: once-per-session means once per hub run.
    private let duplicates: SharedDuplicateFilter

    init(
        reporter: DeviceReporter, source: any FrameSource, symbologies: [Symbology],
        strategies: [DecodeStrategy] = DecodeStrategy.recommended, classifier: ScanClassifier = ScanClassifier()
    ) {
        self.reporter = reporter
        self.source = source
        self.symbologies = symbologies
        self.strategies = strategies
        self.classifier = classifier
        let decoder = reporter.descriptor.decoder
        duplicates = SharedDuplicateFilter(
            DuplicateFilter(scope: decoder.oncePerSession ? .session : .window(decoder.duplicateWindowSeconds)))
    }

    var onlineReason: String { "decoding \(symbologies.map(\.rawValue).joined(separator: ", "))" }

    func open() async throws -> String {
        try await source.open()
        return onlineReason
    }

    /// Stalls in a row after which the device is closed and opened again instead of restarting its stream.
    static let stallsBeforeReopen = 3

    func work(_ health: inout Health) async throws {
        let settings = descriptor.decoder
        let decoder = LiveDecoder(
            reader: try BarcodeReader(symbologies: symbologies, strategies: strategies),
            skipStillFrames: settings.skipStillFrames, maxCpuShare: settings.maxCpuShare)
        let started = ContinuousClock.now
        var lastCounters = ContinuousClock.now
        var lastHealth = ContinuousClock.now
        var stalls = 0
        while !Task.isCancelled {
            let next: Frame?
            do {
                next = try await source.next()
            } catch let error as CaptureError where error.isStall {
                stalls += 1
                reporter.logger.warning("device \(descriptor.id): \(error.message) (\(stalls) in a row)")
                if stalls >= Self.stallsBeforeReopen { throw error }
                health.lastError = error.message
                await report(.degraded, "\(error.message) (\(stalls) in a row)", &health)
                continue
            }
            guard let frame = next else { return }
            if stalls > 0 {
                stalls = 0
                await reportOpened(onlineReason, &health)
            }
            health.processed += 1
            reporter.registry.offer(frame, device: descriptor.id)
            if reporter.registry.takeRestartRequest(descriptor.id) { throw RestartRequested() }
            if let symbols = try decoder.process(frame, at: ContinuousClock.now - started) {
                let admitted = duplicates.admit(symbols, at: frame.captureTime)
                let scans = admitted.map {
                    Self.scanData($0, device: descriptor.id, frameTime: frame.captureTime, classifier: classifier)
                }
                try await reporter.publish(scans: scans, capturedAt: frame.captureTime)
            }
            await beat(&health, lastHealth: &lastHealth, lastCounters: &lastCounters)
        }
    }

    /// The scan event data for a decoded symbol: class, and GS1 elements for GS1 symbols.
    static func scanData(_ symbol: DecodedSymbol, device: DeviceID, frameTime: Date, classifier: ScanClassifier)
        -> ScanData
    {
        var gs1: [GS1Element]?
        var gs1Error: String?
        if symbol.isGS1 {
            do {
                gs1 = try GS1.parse(symbol.bytes)
            } catch {
                gs1Error = error.description
            }
        }
        return ScanData(
            device: device, symbology: symbol.symbology.rawValue, text: symbol.text, bytes: symbol.bytes,
            gtin: symbol.gtin, polygon: symbol.polygon, quality: symbol.quality, frameTime: frameTime,
            payloadClass: classifier.classify(symbol), gs1: gs1, gs1Error: gs1Error, strategy: symbol.strategy.rawValue)
    }
}

/// A kiosk's duplicate filter, kept across reopens of its camera.
private final class SharedDuplicateFilter: Sendable {
    private let filter: Mutex<DuplicateFilter>

    init(_ filter: DuplicateFilter) { self.filter = Mutex(filter) }

    /// The symbols that count as new scans at `time`.
    func admit(_ symbols: [DecodedSymbol], at time: Date) -> [DecodedSymbol] {
        filter.withLock { filter in symbols.filter { filter.admit($0, at: time) } }
    }
}

/// A pipeline fed by a camera (a V4L2 device or a replay): what it opens, reports and closes is the camera's.
protocol CameraPipeline: DevicePipeline {
    var source: any FrameSource { get }
    var healthInterval: Duration { get }
}

extension CameraPipeline {
    var target: String { source.description }
    var endedReason: String { "the camera stream ended" }
    var warnings: [String] { source.warnings }

    func close() { source.close() }

    func waitForDevice(upTo limit: Duration) async throws { try await source.waitForDevice(upTo: limit) }

    func status(_ health: Health) -> DeviceStatus {
        let counters = source.counters
        return health.status(
            of: descriptor, delivered: counters.delivered, dropped: counters.dropped,
            streamRestarts: counters.streamRestarts)
    }

    /// Every `healthInterval` a status event with fresh counters; in between, the registry's counters once a
    /// second.
    func beat(
        _ health: inout Health, lastHealth: inout ContinuousClock.Instant, lastCounters: inout ContinuousClock.Instant
    )
        async
    {
        let now = ContinuousClock.now
        if now - lastHealth >= healthInterval {
            lastHealth = now
            await report(health.state, health.reason, &health)
        } else if now - lastCounters > .seconds(1) {
            lastCounters = now
            reporter.registry.update(status(health))
        }
    }
}
