import Bus
import CoreMetrics
import EventLog
import Foundation
import HubCore
import Prometheus
import Synchronization
import Uplink

/// A metric family of GET /metrics: its name and HELP text, the same for every label set.
struct MetricFamily: Sendable {
    let name: String
    let help: String

    init(_ name: String, _ help: String) {
        self.name = name
        self.help = help
    }

    /// The registry's form; the name is given whole, so the unit is already in it.
    var descriptor: MetricNameDescriptor { MetricNameDescriptor(metricName: name, unitName: "", helpText: help) }
}

extension PrometheusCollectorRegistry {
    /// The histogram of `family` for `labels`, made on first use.
    func histogram(_ family: MetricFamily, _ labels: [(String, String)] = [], buckets: [Double]) -> ValueHistogram {
        makeValueHistogram(descriptor: family.descriptor, labels: labels, buckets: buckets)
    }

    /// Sets the gauge of `family` for `labels` to `value`.
    func show(_ family: MetricFamily, _ labels: [(String, String)] = [], value: Double) {
        makeGauge(descriptor: family.descriptor, labels: labels).set(to: value)
    }

    /// Sets the counter of `family` for `labels` to `total`, a count the hub keeps elsewhere. Only a scrape writes
    /// such counters, one scrape at a time, so the reset and the increment are never seen apart.
    func show(_ family: MetricFamily, _ labels: [(String, String)] = [], total: UInt64) {
        let counter = makeCounter(descriptor: family.descriptor, labels: labels)
        counter.reset()
        counter.increment(by: Int64(clamping: total))
    }

    /// `show(_:_:total:)` for a total that is not a whole number (CPU seconds).
    func show(_ family: MetricFamily, _ labels: [(String, String)] = [], total: Double) {
        let counter = makeCounter(descriptor: family.descriptor, labels: labels)
        counter.reset()
        counter.increment(by: total)
    }
}

/// GET /metrics: the hub's devices, bus, event log and process, exported by swift-prometheus.
///
/// Histograms are recorded where their observations happen (scans, commits, mirror frames) into `prometheus`, the
/// hub's own registry (a hub per registry, not a process-wide bootstrap: tests run several hubs in one process).
/// Figures the hub already keeps (device counters, log bounds, uplink health) are copied in when Prometheus
/// scrapes, and the registry then writes the text.
final class HubMetrics: Sendable {
    let prometheus: PrometheusCollectorRegistry
    let registry: DeviceRegistry
    let log: EventLog
    let bus: Bus
    let started: Date
    let uplink: Uplink?
    /// One scrape at a time (see `show(_:_:total:)`); holds the consumers shown by the last one, whose series go
    /// when their consumer does.
    private let scrape = Mutex<Set<String>>([])

    init(
        prometheus: PrometheusCollectorRegistry, registry: DeviceRegistry, log: EventLog, bus: Bus, started: Date,
        uplink: Uplink? = nil
    ) {
        self.prometheus = prometheus
        self.registry = registry
        self.log = log
        self.bus = bus
        self.started = started
        self.uplink = uplink
    }

    /// The timer the event log records every commit's wall time with.
    static func commitTimer(_ prometheus: PrometheusCollectorRegistry) -> CoreMetrics.Timer {
        let family = MetricFamily.logCommitDuration
        let handler = prometheus.makeDurationHistogram(
            descriptor: family.descriptor, buckets: HubCore.Histogram.latencyBounds.map { Duration.seconds($0) })
        return CoreMetrics.Timer(
            label: family.name, dimensions: [], handler: handler,
            factory: PrometheusMetricsFactory(registry: prometheus))
    }

    func render() -> String {
        scrape.withLock { shownConsumers in
            prometheus.show(.buildInfo, [("version", StoreHubVersion.current)], value: 1)
            prometheus.show(.uptime, value: Date().timeIntervalSince(started).rounded())
            showMirrors()
            showBusAndLog(&shownConsumers)
            if let uplink { showUplink(uplink.metrics()) }
            showProcess()
            // Scans and their latencies, and commits and their durations, are read while none can be counted, so
            // each pair agrees in the text.
            return registry.withDeviceMeasures { measures in
                showDevices(measures)
                return log.withStats { stats in
                    prometheus.show(.logCommits, total: stats.commits)
                    return prometheus.emitToString()
                }
            }
        }
    }

    private func showDevices(_ measures: [DeviceID: DeviceRegistry.DeviceMeasures]) {
        let states: [DeviceState] = [.starting, .online, .degraded, .offline, .failed]
        let counters: [(MetricFamily, KeyPath<DeviceStatus, UInt64>)] = [
            (.deviceFramesDelivered, \.framesDelivered), (.deviceFramesProcessed, \.framesProcessed),
            (.deviceFramesDropped, \.framesDropped), (.deviceRestarts, \.restarts),
        ]
        for summary in registry.deviceSummaries() {
            let status = summary.status
            let device = [("device", status.device.rawValue)]
            for state in states {
                prometheus.show(
                    .deviceState,
                    [("device", status.device.rawValue), ("kind", status.kind.rawValue), ("state", state.rawValue)],
                    value: status.state == state ? 1 : 0)
            }
            for (family, path) in counters { prometheus.show(family, device, total: status[keyPath: path]) }
            prometheus.show(.deviceScans, device, total: measures[status.device]?.scans ?? 0)
            // Made here too, so a device without scans shows its empty histogram.
            _ = prometheus.histogram(.deviceScanLatency, device, buckets: HubCore.Histogram.latencyBounds)
        }
    }

    private func showBusAndLog(_ shownConsumers: inout Set<String>) {
        let (first, last) = log.sequenceBounds
        prometheus.show(.busConnections, value: Double(bus.sessionCount))
        var consumers: Set<String> = []
        for (logName, acked) in log.consumers() {
            let (owner, name) = Principal.consumerOwnerAndName(logName)
            prometheus.show(
                .busConsumerLag, [("consumer", name), ("owner", owner)], value: Double(last > acked ? last - acked : 0))
            consumers.insert(logName)
        }
        for gone in shownConsumers.subtracting(consumers) {
            let (owner, name) = Principal.consumerOwnerAndName(gone)
            prometheus.unregisterGauge(
                prometheus.makeGauge(
                    descriptor: MetricFamily.busConsumerLag.descriptor, labels: [("consumer", name), ("owner", owner)]))
        }
        shownConsumers = consumers
        prometheus.show(.logLastSequence, value: Double(last))
        prometheus.show(.logRetainedEvents, value: Double(last >= first ? last - first + 1 : 0))
        prometheus.show(.logSize, value: Double(log.sizeOnDisk))
    }

    private func showUplink(_ uplink: UplinkMetrics) {
        prometheus.show(.uplinkConnected, value: uplink.connected ? 1 : 0)
        prometheus.show(.uplinkBacklog, value: Double(uplink.backlog))
        prometheus.show(.uplinkInFlight, value: Double(uplink.inFlight))
        prometheus.show(.uplinkAcknowledged, total: uplink.acknowledged)
        prometheus.show(.uplinkLastPuback, value: uplink.lastPuback?.timeIntervalSince1970 ?? 0)
        prometheus.show(.uplinkConnects, total: uplink.connects)
        prometheus.show(.uplinkCommands, [("outcome", "accepted")], total: uplink.commandsAccepted)
        prometheus.show(.uplinkCommands, [("outcome", "rejected")], total: uplink.commandsRejected)
        prometheus.show(.uplinkLostEvents, total: uplink.lostToRetention)
        prometheus.show(.uplinkDeadLetters, total: uplink.deadLetters)
    }

    private func showProcess() {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu =
            Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        prometheus.show(.processCPU, total: cpu)
        prometheus.show(.processResidentMemory, value: Double(Self.residentBytes()))
        prometheus.show(.processStartTime, value: started.timeIntervalSince1970.rounded())
    }

    /// Resident set size from /proc/self/statm (its second field, in pages).
    static func residentBytes() -> UInt64 {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let pages = statm.split(separator: " ").dropFirst().first.flatMap({ UInt64($0) })
        else { return 0 }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }
}

extension MetricFamily {
    static let buildInfo = MetricFamily("storehub_build_info", "StoreHub version; the value is always 1.")
    static let uptime = MetricFamily("storehub_uptime_seconds", "Seconds since the hub started.")

    static let deviceState = MetricFamily(
        "storehub_device_state", "1 for the state each device is in, 0 for the others.")
    static let deviceFramesDelivered = MetricFamily(
        "storehub_device_frames_delivered_total", "Frames the device's source delivered.")
    static let deviceFramesProcessed = MetricFamily(
        "storehub_device_frames_processed_total", "Frames the decoder processed.")
    static let deviceFramesDropped = MetricFamily(
        "storehub_device_frames_dropped_total", "Frames skipped because the pipeline was busy.")
    static let deviceRestarts = MetricFamily(
        "storehub_device_restarts_total", "Reopens of the device and restarts of a stalled stream.")
    static let deviceScans = MetricFamily("storehub_device_scans_total", "Scans accepted into the event log.")
    static let deviceScanLatency = MetricFamily(
        "storehub_device_scan_latency_seconds",
        "From a frame's capture (V4L2 buffer timestamp) to its scan's commit in the event log.")

    static let busConnections = MetricFamily("storehub_bus_connections", "Open WebSocket bus connections.")
    static let busConsumerLag = MetricFamily(
        "storehub_bus_consumer_lag_events",
        "Events a durable consumer has not acknowledged yet (newest sequence minus its cursor).")

    static let logLastSequence = MetricFamily("storehub_log_last_sequence", "Sequence of the newest accepted event.")
    static let logRetainedEvents = MetricFamily(
        "storehub_log_retained_events", "Events the log still holds (after retention).")
    static let logSize = MetricFamily(
        "storehub_log_size_bytes", "The event log's database and write-ahead log on disk.")
    static let logCommits = MetricFamily("storehub_log_commits_total", "Transactions the log writer committed.")
    static let logCommitDuration = MetricFamily(
        "storehub_log_commit_duration_seconds", "Wall time of each commit, BEGIN to COMMIT.")

    static let uplinkConnected = MetricFamily(
        "storehub_uplink_connected", "1 while the uplink has a broker connection.")
    static let uplinkBacklog = MetricFamily(
        "storehub_uplink_backlog_events", "Events in the log the broker has not acknowledged.")
    static let uplinkInFlight = MetricFamily(
        "storehub_uplink_in_flight", "PUBLISH packets sent and waiting for their PUBACK.")
    static let uplinkAcknowledged = MetricFamily(
        "storehub_uplink_acknowledged_total", "Events the broker acknowledged (PUBACK).")
    static let uplinkLastPuback = MetricFamily(
        "storehub_uplink_last_puback_timestamp_seconds", "When the last PUBACK arrived; 0 for never.")
    static let uplinkConnects = MetricFamily("storehub_uplink_connects_total", "Successful broker connections.")
    static let uplinkCommands = MetricFamily("storehub_uplink_commands_total", "Commands from the broker, by outcome.")
    static let uplinkLostEvents = MetricFamily(
        "storehub_uplink_lost_events_total", "Events removed by log retention before the broker acknowledged them.")
    static let uplinkDeadLetters = MetricFamily(
        "storehub_uplink_dead_letters_total",
        "Events set aside because the broker refused them repeatedly (or their topic cannot go up).")

    static let processCPU = MetricFamily("process_cpu_seconds_total", "User and system CPU time of the hub.")
    static let processResidentMemory = MetricFamily("process_resident_memory_bytes", "Resident memory of the hub.")
    static let processStartTime = MetricFamily(
        "process_start_time_seconds", "When the hub started, seconds since 1970.")
}
