import Foundation
import HubCore
import Server
import Synchronization

/// The latest state of every device, for the REST API and the status page.
public final class DeviceRegistry: DeviceStatusProvider {
    private let entries = Mutex<[DeviceID: DeviceSummary]>([:])
    /// Counters and latencies for /metrics, by device.
    private let measures = Mutex<[DeviceID: DeviceMeasures]>([:])

    /// What /metrics shows of a device beyond its status.
    struct DeviceMeasures: Sendable {
        var scans: UInt64 = 0
        /// From the frame's capture (or the scanner's last byte) to the scan's commit in the log, seconds.
        var scanLatency = Histogram()
    }

    public init() {}

    public func deviceSummaries() -> [DeviceSummary] {
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

    /// Records how long a scan took from capture to commit.
    func recordLatency(_ device: DeviceID, seconds: Double) {
        measures.withLock { $0[device, default: DeviceMeasures()].scanLatency.record(max(0, seconds)) }
    }

    func deviceMeasures() -> [DeviceID: DeviceMeasures] {
        measures.withLock { $0 }
    }

    func updateCounters(_ device: DeviceID, _ body: (inout DeviceStatus) -> Void) {
        entries.withLock { entries in
            if var entry = entries[device] {
                body(&entry.status)
                entries[device] = entry
            }
        }
    }
}
