import EventLog
import HubCore
import Logging
import ServiceLifecycle
import Synchronization

/// Tells systemd how the hub is: STATUS lines when the devices' states change, and WATCHDOG=1 only while the
/// event log can still commit. A hub whose log writer is stuck (a dead disk, a database another process holds
/// locked) stops the pings, and systemd restarts it after WatchdogSec.
struct SystemdStatus: Service {
    let notifier: SystemdNotifier
    let registry: DeviceRegistry
    let log: EventLog
    let logger: Logger

    /// The newest probe of the event log and what came of it.
    enum Probe { case idle, pending, healthy, failed }

    func run() async throws {
        let interval = notifier.watchdogInterval.map { $0 / 2 } ?? .seconds(2)
        let probe = Mutex(Probe.idle)
        await cancelWhenGracefulShutdown {
            var lastStatus = ""
            var unhealthySince: ContinuousClock.Instant?
            while !Task.isCancelled {
                let state = probe.withLock { $0 }
                if notifier.watchdogInterval != nil {
                    switch state {
                    case .healthy:
                        notifier.send("WATCHDOG=1")
                        if unhealthySince != nil { logger.notice("event log commits again; watchdog pings resumed") }
                        unhealthySince = nil
                    case .failed, .pending:
                        if unhealthySince == nil {
                            unhealthySince = .now
                            logger.warning(
                                "event log cannot commit; systemd's watchdog will restart the hub if this lasts")
                        }
                    case .idle:
                        break
                    }
                }
                if state != .pending {
                    probe.withLock { $0 = .pending }
                    log.probe { result in
                        probe.withLock { $0 = (try? result.get()) != nil ? .healthy : .failed }
                    }
                }
                let status = Self.status(registry.deviceSummaries())
                if status != lastStatus {
                    notifier.send("STATUS=\(status)")
                    lastStatus = status
                }
                try? await Task.sleep(for: interval)
            }
        }
        notifier.send("STOPPING=1\nSTATUS=stopping")
    }

    /// "2 devices: 1 online, 1 offline (kiosk-aisle)": counts by state, and which devices are not online.
    static func status(_ summaries: [DeviceSummary]) -> String {
        guard !summaries.isEmpty else { return "no devices configured" }
        let order: [DeviceState] = [.online, .degraded, .starting, .offline, .failed]
        let parts = order.compactMap { state -> String? in
            let devices = summaries.filter { $0.status.state == state }.map(\.status.device.rawValue)
            guard !devices.isEmpty else { return nil }
            return state == .online
                ? "\(devices.count) online" : "\(devices.count) \(state.rawValue) (\(devices.joined(separator: ", ")))"
        }
        return "\(summaries.count) device\(summaries.count == 1 ? "" : "s"): " + parts.joined(separator: ", ")
    }
}
