import Barcode
import Capture
import EventLog
import Foundation
import HubCore
import Logging

/// One kiosk: camera → zbar → duplicate filter → scan events in the log, under DevicePipeline's supervision.
///
/// The pipeline never talks to a socket: it appends to the log, and the bus delivers from there.
struct KioskPipeline: DevicePipeline {
    let reporter: DeviceReporter
    let source: any FrameSource
    let symbologies: [Symbology]
    /// How often an online device repeats its status with fresh counters.
    var healthInterval: Duration = .seconds(30)

    var target: String { source.description }
    var endedReason: String { "the camera stream ended" }

    var onlineReason: String { "decoding \(symbologies.map(\.rawValue).joined(separator: ", "))" }

    func open() async throws -> String {
        try await source.open()
        return onlineReason
    }

    var warnings: [String] { source.warnings }

    /// Stalls in a row after which the device is closed and opened again instead of restarting its stream.
    static let stallsBeforeReopen = 3

    func close() { source.close() }

    func waitForDevice(upTo limit: Duration) async throws { try await source.waitForDevice(upTo: limit) }

    func permanentFailure(_ error: any Error) -> String? {
        guard let error = error as? CaptureError, !error.isTransient else { return nil }
        return error.message
    }

    func status(_ health: Health) -> DeviceStatus {
        let counters = source.counters
        return health.status(
            of: descriptor, delivered: counters.delivered, dropped: counters.dropped,
            streamRestarts: counters.streamRestarts)
    }

    func work(_ health: inout Health) async throws {
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
            let symbols = try scanner.scan(frame)
            health.processed += 1
            let scans = symbols.filter { filter.admit($0, at: frame.captureTime) }.map { symbol in
                ScanData(
                    device: descriptor.id, symbology: symbol.symbology.rawValue, text: symbol.text, bytes: symbol.bytes,
                    gtin: symbol.gtin, polygon: symbol.polygon, quality: symbol.quality, frameTime: frame.captureTime)
            }
            try await reporter.publish(scans: scans, capturedAt: frame.captureTime)
            reporter.registry.offer(frame, device: descriptor.id)
            if reporter.registry.takeRestartRequest(descriptor.id) { throw RestartRequested() }
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
}
