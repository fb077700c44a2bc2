import Barcode
import Capture
import EventLog
import Foundation
import HubCore
import Logging

/// One kiosk: camera → motion gate → zbar and decode strategies → duplicate filter → classes and GS1 →
/// scan events in the log, under its own supervision.
///
/// The pipeline never talks to a socket: it appends to the log, and the bus delivers from there. When the
/// camera fails it reports offline with the reason and reopens it with backoff until the hub stops.
///
/// Keeping up with live video: frames where nothing moved are skipped (`MotionGate`), and after a frame was
/// decoded the pipeline lets frames pass undecoded until the decoder's average use is back under
/// `maxCpuShare` of one core. The source always hands over its newest frame, so nothing queues up.
struct KioskPipeline: Sendable {
    let descriptor: DeviceDescriptor
    let source: any FrameSource
    let symbologies: [Symbology]
    var strategies: [DecodeStrategy] = DecodeStrategy.recommended
    var classifier = ScanClassifier()
    let hubID: String
    let log: EventLog
    let registry: DeviceRegistry
    let logger: Logger
    /// How often an online device repeats its status with fresh counters.
    var healthInterval: Duration = .seconds(30)

    func run() async {
        var health = Health()
        var backoff = Backoff()
        // Lives across reconnects: once-per-session means once per hub run.
        var filter = DuplicateFilter(
            scope: descriptor.decoder.oncePerSession ? .session : .window(descriptor.decoder.duplicateWindowSeconds))
        while !Task.isCancelled {
            await report(.starting, "opening \(source.description)", &health)
            do {
                try await source.open()
                await report(.online, "decoding \(symbologies.map(\.rawValue).joined(separator: ", "))", &health)
                backoff.reset()
                try await decodeFrames(&health, &filter)
                if Task.isCancelled { break }
                await report(.offline, "the camera stream ended", &health)
            } catch is CancellationError {
                break
            } catch let error as CaptureError where !error.isTransient {
                logger.error("device \(descriptor.id) failed: \(error.message)")
                await report(.failed, error.message, &health)
                source.close()
                return
            } catch {
                logger.warning("device \(descriptor.id) offline: \(error)")
                await report(.offline, "\(error)", &health)
            }
            source.close()
            health.restarts += 1
            do {
                try await source.waitForDevice(upTo: .seconds(backoff.next()))
            } catch {
                break
            }
        }
        source.close()
        await report(.offline, "hub stopping", &health)
    }

    private func decodeFrames(_ health: inout Health, _ filter: inout DuplicateFilter) async throws {
        let settings = descriptor.decoder
        let decoder = LiveDecoder(
            reader: try BarcodeReader(symbologies: symbologies, strategies: strategies),
            skipStillFrames: settings.skipStillFrames, maxCpuShare: settings.maxCpuShare)
        let started = ContinuousClock.now
        var lastCounters = ContinuousClock.now
        var lastHealth = ContinuousClock.now
        while !Task.isCancelled {
            guard let frame = try await source.next() else { return }
            health.processed += 1
            guard let symbols = try decoder.process(frame, at: ContinuousClock.now - started) else {
                await keepStatusFresh(&health, &lastHealth, &lastCounters)
                continue
            }
            var drafts: [EventDraft] = []
            var scans: [ScanData] = []
            for symbol in symbols where filter.admit(symbol, at: frame.captureTime) {
                let scan = Self.scanData(
                    symbol, device: descriptor.id, frameTime: frame.captureTime, classifier: classifier)
                let event = CloudEvent(
                    source: "storehub://\(hubID)/\(descriptor.id)", type: EventType.scan,
                    subject: Topic.scan(descriptor.id), data: try JSONValue.encoding(scan))
                drafts.append(EventDraft(topic: event.subject, body: try event.encoded()))
                scans.append(scan)
            }
            if !drafts.isEmpty {
                let stored = try await log.append(drafts)
                for (scan, event) in zip(scans, stored) {
                    registry.recordScan(scan, time: Timestamp.iso8601(Date()))
                    logger.debug("device \(descriptor.id) scanned \(scan.symbology) (sequence \(event.sequence))")
                }
            }
            await keepStatusFresh(&health, &lastHealth, &lastCounters)
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

    /// The 30-second status beat and the registry's per-second counters.
    private func keepStatusFresh(
        _ health: inout Health, _ lastHealth: inout ContinuousClock.Instant,
        _ lastCounters: inout ContinuousClock.Instant
    ) async {
        let now = ContinuousClock.now
        if now - lastHealth >= healthInterval {
            lastHealth = now
            await report(health.state, health.reason, &health)
        } else if now - lastCounters > .seconds(1) {
            lastCounters = now
            let status = health.status(of: descriptor, counters: source.counters)
            registry.update(status)
        }
    }

    /// Publishes a `device.status` event and updates the registry. A log failure is logged, not thrown:
    /// status reporting must not take the pipeline down.
    private func report(_ state: DeviceState, _ reason: String, _ health: inout Health) async {
        if state != health.state || reason != health.reason {
            health.state = state
            health.reason = reason
            health.since = Date()
        }
        let status = health.status(of: descriptor, counters: source.counters)
        registry.update(status)
        do {
            let event = CloudEvent(
                source: "storehub://\(hubID)/\(descriptor.id)", type: EventType.deviceStatus,
                subject: Topic.deviceStatus(descriptor.id), data: try JSONValue.encoding(status))
            _ = try await log.append(EventDraft(topic: event.subject, body: try event.encoded()))
        } catch {
            logger.error("device \(descriptor.id): status '\(state.rawValue)' not recorded: \(error)")
        }
    }
}

/// A pipeline's state and counters, from which its status events are made.
struct Health {
    var state = DeviceState.starting
    var reason = ""
    var since = Date()
    var restarts: UInt64 = 0
    var processed: UInt64 = 0

    func status(of descriptor: DeviceDescriptor, counters: FrameCounters) -> DeviceStatus {
        DeviceStatus(
            device: descriptor.id, kind: descriptor.kind, name: descriptor.name, state: state, reason: reason,
            since: since, framesDelivered: counters.delivered, framesProcessed: processed,
            framesDropped: counters.dropped, restarts: restarts)
    }
}
