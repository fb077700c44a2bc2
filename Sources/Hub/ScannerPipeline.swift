import Barcode
import Config
import EventLog
import Foundation
import HubCore
import Logging
import Scanners

/// One scanner (keyboard wedge or serial): its scans → duplicate filter → scan events in the log, with the same
/// supervision and status events as a kiosk. Dropped input (partial, over-long, unreadable) is logged, counted in
/// the status, and never ends the pipeline.
struct ScannerPipeline: DevicePipeline {
    let reporter: DeviceReporter
    let source: any ScannerSource
    /// The descriptor's payload classes, as for kiosks.
    var classifier = ScanClassifier()
    /// A drop updates the registry at once; a status event for drops is published at most this often.
    var dropReportInterval: Duration = .seconds(1)

    var target: String { source.description }
    var endedReason: String { "the scanner stopped delivering" }

    func open() async throws -> String {
        try await source.open()
        return "reading \(source.description)"
    }

    func close() { source.close() }

    func waitForDevice(upTo limit: Duration) async throws { try await source.waitForDevice(upTo: limit) }

    func status(_ health: Health) -> DeviceStatus {
        var status = health.status(of: descriptor, delivered: health.processed, dropped: 0)
        status.scansDropped = health.scansDropped
        status.errors = health.errors
        status.lastProblem = health.lastProblem
        return status
    }

    /// The scanner's next output; throws `RestartRequested` as soon as staff ask for a restart, even while the
    /// scanner is idle (the read is cancelled, which wakes the read loop).
    private func nextOrRestart() async throws -> ScannerOutput {
        let (source, registry, device) = (self.source, reporter.registry, descriptor.id)
        if registry.takeRestartRequest(device) { throw RestartRequested() }
        return try await withThrowingTaskGroup(of: ScannerOutput?.self) { group in
            group.addTask { try await source.next() }
            group.addTask {
                while !registry.takeRestartRequest(device) { try await Task.sleep(for: .milliseconds(200)) }
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let output = first else { throw RestartRequested() }
            return output
        }
    }

    func work(_ health: inout Health) async throws {
        var filter = DuplicateFilter(window: descriptor.decoder.duplicateWindowSeconds)
        var lastDropReport: ContinuousClock.Instant?
        while !Task.isCancelled {
            switch try await nextOrRestart() {
            case .scan(let read):
                health.processed += 1
                if filter.admit(symbology: read.symbology, bytes: read.bytes, at: read.endTime) {
                    var gs1: [GS1Element]?
                    var gs1Error: String?
                    if read.isGS1 {
                        do {
                            gs1 = try GS1.parse(read.bytes)
                        } catch {
                            gs1Error = error.description
                        }
                    }
                    let scan = ScanData(
                        device: descriptor.id, symbology: read.symbology, text: read.text, bytes: read.bytes,
                        gtin: read.gtin, polygon: [], quality: 0, frameTime: read.endTime,
                        payloadClass: classifier.classify(symbologyName: read.symbology, text: read.text), gs1: gs1,
                        gs1Error: gs1Error)
                    try await reporter.publish(scans: [scan], capturedAt: read.endTime)
                }
                reporter.registry.update(status(health))
            case .dropped(let problem):
                switch problem.kind {
                case .incomplete: health.scansDropped += 1
                case .unreadable: health.errors += 1
                }
                health.lastProblem = problem.message
                // The message names what was wrong and where, never the input itself (it may be a shopper's).
                reporter.logger.warning("device \(descriptor.id): input dropped: \(problem.message)")
                let now = ContinuousClock.now
                if let last = lastDropReport, now - last < dropReportInterval {
                    reporter.registry.update(status(health))
                } else {
                    lastDropReport = now
                    await reporter.publish(status(health))
                }
            }
        }
    }
}
