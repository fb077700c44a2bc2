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

    func run() async {
        var backoff = Backoff()
        var restarts: UInt64 = 0
        var processed: UInt64 = 0
        while !Task.isCancelled {
            await report(.starting, "opening \(source.description)", restarts: restarts, processed: processed)
            do {
                try await source.open()
                await report(
                    .online, "decoding \(symbologies.map(\.rawValue).joined(separator: ", "))", restarts: restarts,
                    processed: processed)
                backoff.reset()
                try await decodeFrames(processed: &processed)
                if Task.isCancelled { break }
                await report(.offline, "the camera stream ended", restarts: restarts, processed: processed)
            } catch is CancellationError {
                break
            } catch let error as CaptureError where !error.isTransient {
                logger.error("device \(descriptor.id) failed: \(error.message)")
                await report(.failed, error.message, restarts: restarts, processed: processed)
                source.close()
                return
            } catch {
                logger.warning("device \(descriptor.id) offline: \(error)")
                await report(.offline, "\(error)", restarts: restarts, processed: processed)
            }
            source.close()
            restarts += 1
            let delay = backoff.next()
            do {
                try await Task.sleep(for: .seconds(delay))
            } catch {
                break
            }
        }
        source.close()
        await report(.offline, "hub stopping", restarts: restarts, processed: processed)
    }

    private func decodeFrames(processed: inout UInt64) async throws {
        let scanner = try BarcodeScanner(symbologies: symbologies)
        var filter = DuplicateFilter(window: descriptor.decoder.duplicateWindowSeconds)
        var lastCounters = ContinuousClock.now
        while !Task.isCancelled {
            guard let frame = try await source.next() else { return }
            let symbols = try scanner.scan(frame)
            processed += 1
            var drafts: [EventDraft] = []
            var scans: [ScanData] = []
            for symbol in symbols where filter.admit(symbol, at: frame.captureTime) {
                let scan = ScanData(
                    device: descriptor.id, symbology: symbol.symbology.rawValue, text: symbol.text, bytes: symbol.bytes,
                    gtin: symbol.gtin, polygon: symbol.polygon, quality: symbol.quality, frameTime: frame.captureTime)
                let event = CloudEvent(
                    source: "storehub://\(hubID)/\(descriptor.id)", type: EventType.scan,
                    subject: Topic.scan(descriptor.id),
                    data: try JSONValue.encoding(scan))
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
            if ContinuousClock.now - lastCounters > .seconds(1) {
                lastCounters = .now
                let counters = source.counters
                let done = processed
                registry.updateCounters(descriptor.id) { status in
                    status.framesDelivered = counters.delivered
                    status.framesDropped = counters.dropped
                    status.framesProcessed = done
                }
            }
        }
    }

    /// Publishes a `device.status` event and updates the registry. A log failure is logged, not thrown:
    /// status reporting must not take the pipeline down.
    private func report(_ state: DeviceState, _ reason: String, restarts: UInt64, processed: UInt64) async {
        let counters = source.counters
        let status = DeviceStatus(
            device: descriptor.id, kind: descriptor.kind, name: descriptor.name, state: state, reason: reason,
            since: Date(),
            framesDelivered: counters.delivered, framesProcessed: processed, framesDropped: counters.dropped,
            restarts: restarts)
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
