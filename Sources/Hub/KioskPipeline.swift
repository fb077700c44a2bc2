import Barcode
import Capture
import EventLog
import Foundation
import HubCore
import Logging

/// One kiosk: camera → zbar → duplicate filter → scan events in the log, under its own supervision.
///
/// The pipeline never talks to a socket: it appends to the log, and the bus delivers from there. When the
/// camera fails it reports offline with the reason and reopens it with backoff until the hub stops.
struct KioskPipeline: Sendable {
    let descriptor: DeviceDescriptor
    let source: any FrameSource
    let symbologies: [Symbology]
    let hubID: String
    let log: EventLog
    let registry: DeviceRegistry
    let logger: Logger
    /// How often an online device repeats its status with fresh counters.
    var healthInterval: Duration = .seconds(30)

    func run() async {
        var health = Health()
        var backoff = Backoff()
        while !Task.isCancelled {
            await report(.starting, "opening \(source.description)", &health)
            do {
                try await source.open()
                await reportOpened(&health)
                backoff.reset()
                try await decodeFrames(&health)
                if Task.isCancelled { break }
                await report(.offline, "the camera stream ended", &health)
            } catch is CancellationError {
                break
            } catch let error as CaptureError where !error.isTransient {
                logger.error("device \(descriptor.id) failed: \(error.message)")
                health.lastError = error.message
                await report(.failed, error.message, &health)
                source.close()
                return
            } catch {
                logger.warning("device \(descriptor.id) offline: \(error)")
                health.lastError = "\(error)"
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

    /// Online, or degraded when the source works but not as configured (a camera control it refused).
    private func reportOpened(_ health: inout Health) async {
        let decoding = "decoding \(symbologies.map(\.rawValue).joined(separator: ", "))"
        let warnings = source.warnings
        if warnings.isEmpty {
            await report(.online, decoding, &health)
        } else {
            for warning in warnings { logger.warning("device \(descriptor.id): \(warning)") }
            health.lastError = warnings.last
            await report(.degraded, "\(decoding); \(warnings.joined(separator: "; "))", &health)
        }
    }

    /// Stalls in a row after which the device is closed and opened again instead of restarting its stream.
    static let stallsBeforeReopen = 3

    private func decodeFrames(_ health: inout Health) async throws {
        let scanner = try BarcodeScanner(symbologies: symbologies)
        var filter = DuplicateFilter(window: descriptor.decoder.duplicateWindowSeconds)
        var lastCounters = ContinuousClock.now
        var lastHealth = ContinuousClock.now
        var stalls = 0
        while !Task.isCancelled {
            let next: Frame?
            do {
                next = try await source.next()
            } catch let error as CaptureError where error.isStall {
                stalls += 1
                logger.warning("device \(descriptor.id): \(error.message) (\(stalls) in a row)")
                if stalls >= Self.stallsBeforeReopen { throw error }
                health.lastError = error.message
                await report(.degraded, "\(error.message) (\(stalls) in a row)", &health)
                continue
            }
            guard let frame = next else { return }
            if stalls > 0 {
                stalls = 0
                await reportOpened(&health)
            }
            let symbols = try scanner.scan(frame)
            health.processed += 1
            var drafts: [EventDraft] = []
            var scans: [ScanData] = []
            for symbol in symbols where filter.admit(symbol, at: frame.captureTime) {
                let scan = ScanData(
                    device: descriptor.id, symbology: symbol.symbology.rawValue, text: symbol.text, bytes: symbol.bytes,
                    gtin: symbol.gtin, polygon: symbol.polygon, quality: symbol.quality, frameTime: frame.captureTime)
                let event = CloudEvent(
                    source: "storehub://\(hubID)/\(descriptor.id)", type: EventType.scan,
                    subject: Topic.scan(descriptor.id), data: try JSONValue.encoding(scan))
                drafts.append(EventDraft(topic: event.subject, body: try event.encoded()))
                scans.append(scan)
            }
            if !drafts.isEmpty {
                let stored = try await log.append(drafts)
                registry.recordLatency(descriptor.id, seconds: Date().timeIntervalSince(frame.captureTime))
                for (scan, event) in zip(scans, stored) {
                    registry.recordScan(scan, time: Timestamp.iso8601(Date()))
                    logger.debug("device \(descriptor.id) scanned \(scan.symbology) (sequence \(event.sequence))")
                }
            }
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
    /// Reopens of the device; stream restarts after a stall are counted by the source and added in `status`.
    var restarts: UInt64 = 0
    var processed: UInt64 = 0
    /// The last thing that went wrong, kept after the device recovers so staff can see what happened.
    var lastError: String?

    func status(of descriptor: DeviceDescriptor, counters: FrameCounters) -> DeviceStatus {
        DeviceStatus(
            device: descriptor.id, kind: descriptor.kind, name: descriptor.name, state: state, reason: reason,
            since: since, framesDelivered: counters.delivered, framesProcessed: processed,
            framesDropped: counters.dropped, restarts: restarts + counters.streamRestarts, lastError: lastError)
    }
}
