import Capture
import Foundation
import HubCore
import Prometheus
import Server
import Synchronization

/// The latest state of every device, for the REST API and the status page.
package final class DeviceRegistry: DeviceStatusProvider {
    private let entries = Mutex<[DeviceID: DeviceSummary]>([:])
    /// Scan counts for /metrics, by device; their latencies go to `prometheus` under the same lock.
    private let measures = Mutex<[DeviceID: DeviceMeasures]>([:])
    /// The hub's metrics registry: scan latencies and mirror frame times are recorded in it as they happen.
    let prometheus: PrometheusCollectorRegistry

    /// What /metrics shows of a device beyond its status.
    struct DeviceMeasures: Sendable {
        var scans: UInt64 = 0
    }

    /// Staff requests to devices and what the cameras show, by device.
    private let controls = Mutex<[DeviceID: DeviceControl]>([:])

    /// A device's pending staff requests and its latest thumbnail.
    struct DeviceControl: Sendable {
        var restartRequested = false
        var snapshotWaiters: [CheckedContinuation<[UInt8]?, Never>] = []
        /// A quarter-size grey JPEG, refreshed about once a second while frames flow.
        var preview: [UInt8]?
        var previewAt: ContinuousClock.Instant?
    }

    /// How often a camera's thumbnail is refreshed.
    static let previewInterval: Duration = .seconds(1)

    package init(prometheus: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.prometheus = prometheus
    }

    // MARK: staff actions and pictures

    package func requestRestart(_ device: DeviceID) -> Bool {
        guard entries.withLock({ $0[device] != nil }) else { return false }
        controls.withLock { $0[device, default: DeviceControl()].restartRequested = true }
        return true
    }

    /// True once per restart request; the pipeline then closes and reopens its device.
    func takeRestartRequest(_ device: DeviceID) -> Bool {
        controls.withLock { controls in
            guard controls[device]?.restartRequested == true else { return false }
            controls[device]?.restartRequested = false
            return true
        }
    }

    package func preview(_ device: DeviceID) -> [UInt8]? {
        controls.withLock { $0[device]?.preview }
    }

    /// Waits for the device's next frame and returns it as a full-size JPEG, or nil after `timeout` (a device that
    /// delivers no frames, or one that is not a camera).
    package func snapshot(_ device: DeviceID, timeout: Duration) async -> [UInt8]? {
        guard entries.withLock({ $0[device]?.status.kind }) != .scanner else { return nil }
        return await withTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    self.controls.withLock { $0[device, default: DeviceControl()].snapshotWaiters.append(continuation) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                if Task.isCancelled { return nil }
                let waiters = self.controls.withLock { controls -> [CheckedContinuation<[UInt8]?, Never>] in
                    defer { controls[device]?.snapshotWaiters = [] }
                    return controls[device]?.snapshotWaiters ?? []
                }
                for waiter in waiters { waiter.resume(returning: nil) }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            await group.waitForAll()
            return first
        }
    }

    /// Called by a camera pipeline with every frame; one lock when nothing is due. Encodes the thumbnail once a
    /// second and a full-size snapshot when staff asked for one.
    func offer(_ frame: Frame, device: DeviceID) {
        let now = ContinuousClock.now
        let (previewDue, waiters) = controls.withLock { controls -> (Bool, [CheckedContinuation<[UInt8]?, Never>]) in
            let due = controls[device]?.previewAt.map { now - $0 >= Self.previewInterval } ?? true
            if due { controls[device, default: DeviceControl()].previewAt = now }
            let waiters = controls[device]?.snapshotWaiters ?? []
            if !waiters.isEmpty { controls[device]?.snapshotWaiters = [] }
            return (due, waiters)
        }
        if previewDue, let jpeg = JPEGEncoder.grey(frame, shrink: 4, quality: 70) {
            controls.withLock { $0[device]?.preview = jpeg }
        }
        if !waiters.isEmpty {
            let full = JPEGEncoder.grey(frame, quality: 90)
            for waiter in waiters { waiter.resume(returning: full) }
        }
    }

    package func deviceSummaries() -> [DeviceSummary] {
        entries.withLock { $0.values.sorted { $0.status.device < $1.status.device } }
    }

    func update(_ status: DeviceStatus) {
        entries.withLock { entries in
            let lastScan = entries[status.device]?.lastScan
            entries[status.device] = DeviceSummary(status: status, lastScan: lastScan)
        }
    }

    func recordScan(_ scan: ScanData, time: String) {
        entries.withLock { entries in
            entries[scan.device]?.lastScan = .init(symbology: scan.symbology, text: scan.text, time: time)
        }
        measures.withLock { $0[scan.device, default: DeviceMeasures()].scans += 1 }
    }

    /// Records how long a scan took from capture (or the scanner's last byte) to commit.
    func recordLatency(_ device: DeviceID, seconds: Double) {
        let latency = prometheus.histogram(
            .deviceScanLatency, [("device", device.rawValue)], buckets: HubCore.Histogram.latencyBounds)
        measures.withLock { _ in latency.record(max(0, seconds)) }
    }

    /// Mirrors' frame counters, by device.
    private let mirrors = Mutex<[DeviceID: MirrorFrameCounts]>([:])

    /// A mirror pipeline's frame counters, published with every frame so that /metrics is current.
    func updateMirror(_ device: DeviceID, _ counts: MirrorFrameCounts) {
        mirrors.withLock { $0[device] = counts }
    }

    func mirrorCounts() -> [DeviceID: MirrorFrameCounts] {
        mirrors.withLock { $0 }
    }

    /// Runs `body` with the scan counts while no scan or latency can be recorded.
    func withDeviceMeasures<Result>(_ body: ([DeviceID: DeviceMeasures]) -> Result) -> Result {
        measures.withLock { body($0) }
    }
}
