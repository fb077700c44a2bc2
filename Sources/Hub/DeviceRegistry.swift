import Foundation
import HubCore
import Server
import Synchronization

/// The latest state of every device, for the REST API and the status page.
public final class DeviceRegistry: DeviceStatusProvider {
    private let entries = Mutex<[DeviceID: DeviceSummary]>([:])

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
