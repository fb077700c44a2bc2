import Bus
import EventLog
import Foundation
import HubCore
import Uplink

/// GET /metrics: the hub's devices, bus, event log and process in the Prometheus text format.
struct HubMetrics: Sendable {
    let registry: DeviceRegistry
    let log: EventLog
    let bus: Bus
    let started: Date
    var uplink: Uplink? = nil

    func render() -> String {
        var out = PrometheusText()
        out.family("storehub_build_info", "gauge", "StoreHub version; the value is always 1.")
        out.sample("storehub_build_info", [("version", StoreHubVersion.current)], 1)
        out.family("storehub_uptime_seconds", "gauge", "Seconds since the hub started.")
        out.sample("storehub_uptime_seconds", [], Date().timeIntervalSince(started).rounded())
        renderDevices(&out)
        renderMirrors(&out)
        renderLog(&out)
        uplink?.render(&out)
        renderProcess(&out)
        return out.text
    }

    private func renderDevices(_ out: inout PrometheusText) {
        let summaries = registry.deviceSummaries()
        let measures = registry.deviceMeasures()
        let states: [DeviceState] = [.starting, .online, .degraded, .offline, .failed]
        out.family("storehub_device_state", "gauge", "1 for the state each device is in, 0 for the others.")
        for summary in summaries {
            for state in states {
                out.sample(
                    "storehub_device_state",
                    [
                        ("device", summary.status.device.rawValue), ("kind", summary.status.kind.rawValue),
                        ("state", state.rawValue),
                    ], summary.status.state == state ? 1 : 0)
            }
        }
        let counters: [(String, String, KeyPath<DeviceStatus, UInt64>)] = [
            ("storehub_device_frames_delivered_total", "Frames the device's source delivered.", \.framesDelivered),
            ("storehub_device_frames_processed_total", "Frames the decoder processed.", \.framesProcessed),
            ("storehub_device_frames_dropped_total", "Frames skipped because the pipeline was busy.", \.framesDropped),
            ("storehub_device_restarts_total", "Reopens of the device and restarts of a stalled stream.", \.restarts),
        ]
        for (name, help, path) in counters {
            out.family(name, "counter", help)
            for summary in summaries {
                out.sample(name, [("device", summary.status.device.rawValue)], Double(summary.status[keyPath: path]))
            }
        }
        out.family("storehub_device_scans_total", "counter", "Scans accepted into the event log.")
        for summary in summaries {
            let device = summary.status.device
            out.sample(
                "storehub_device_scans_total", [("device", device.rawValue)], Double(measures[device]?.scans ?? 0))
        }
        out.family(
            "storehub_device_scan_latency_seconds", "histogram",
            "From a frame's capture (V4L2 buffer timestamp) to its scan's commit in the event log.")
        for summary in summaries {
            let device = summary.status.device
            out.histogram(
                "storehub_device_scan_latency_seconds", [("device", device.rawValue)],
                measures[device]?.scanLatency ?? Histogram())
        }
    }

    private func renderLog(_ out: inout PrometheusText) {
        let (first, last) = log.sequenceBounds
        let stats = log.stats
        out.family("storehub_bus_connections", "gauge", "Open WebSocket bus connections.")
        out.sample("storehub_bus_connections", [], Double(bus.sessionCount))
        out.family(
            "storehub_bus_consumer_lag_events", "gauge",
            "Events a durable consumer has not acknowledged yet (newest sequence minus its cursor).")
        for (logName, acked) in log.consumers().sorted(by: { $0.key < $1.key }) {
            let (owner, name) = Principal.consumerOwnerAndName(logName)
            out.sample(
                "storehub_bus_consumer_lag_events", [("consumer", name), ("owner", owner)],
                Double(last > acked ? last - acked : 0))
        }
        out.family("storehub_log_last_sequence", "gauge", "Sequence of the newest accepted event.")
        out.sample("storehub_log_last_sequence", [], Double(last))
        out.family("storehub_log_retained_events", "gauge", "Events the log still holds (after retention).")
        out.sample("storehub_log_retained_events", [], Double(last >= first ? last - first + 1 : 0))
        out.family("storehub_log_size_bytes", "gauge", "The event log's database and write-ahead log on disk.")
        out.sample("storehub_log_size_bytes", [], Double(log.sizeOnDisk))
        out.family("storehub_log_commits_total", "counter", "Transactions the log writer committed.")
        out.sample("storehub_log_commits_total", [], Double(stats.commits))
        out.family("storehub_log_commit_duration_seconds", "histogram", "Wall time of each commit, BEGIN to COMMIT.")
        out.histogram("storehub_log_commit_duration_seconds", [], stats.durations)
    }

    private func renderProcess(_ out: inout PrometheusText) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu =
            Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        out.family("process_cpu_seconds_total", "counter", "User and system CPU time of the hub.")
        out.sample("process_cpu_seconds_total", [], cpu)
        out.family("process_resident_memory_bytes", "gauge", "Resident memory of the hub.")
        out.sample("process_resident_memory_bytes", [], Double(Self.residentBytes()))
        out.family("process_start_time_seconds", "gauge", "When the hub started, seconds since 1970.")
        out.sample("process_start_time_seconds", [], started.timeIntervalSince1970.rounded())
    }

    /// Resident set size from /proc/self/statm (its second field, in pages).
    static func residentBytes() -> UInt64 {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let pages = statm.split(separator: " ").dropFirst().first.flatMap({ UInt64($0) })
        else { return 0 }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }
}
