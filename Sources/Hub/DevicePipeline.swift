import Config
import EventLog
import Foundation
import HubCore
import Logging
import Pickup

/// A device pipeline under supervision: kiosks (camera → zbar) and scanners share the loop in `run()`, which
/// opens the device, reports online, works until the device fails, reports offline with the reason, and reopens
/// it with backoff until the hub stops. A `DeviceFailure` that is not transient ends the loop: the device is
/// reported failed and stays closed.
protocol DevicePipeline: Sendable {
    var reporter: DeviceReporter { get }
    /// For the `starting` reason: what is being opened.
    var target: String { get }
    /// Opens the device; returns the reason shown while online.
    func open() async throws -> String
    /// After `open()`: what works but not as configured (a camera control the device refused); the device is
    /// then reported degraded.
    var warnings: [String] { get }
    /// Works until the device's stream ends (returns) or fails (throws).
    func work(_ health: inout Health) async throws
    /// The offline reason when `work` returned.
    var endedReason: String { get }
    func close()
    /// After a failure: waits until reopening makes sense, at most `limit`.
    func waitForDevice(upTo limit: Duration) async throws
    /// The status event's data for the current health.
    func status(_ health: Health) -> DeviceStatus
}

extension DevicePipeline {
    var descriptor: DeviceDescriptor { reporter.descriptor }
    var warnings: [String] { [] }

    func run() async {
        var health = Health()
        var backoff = Backoff()
        // The device's work runs on its own thread (see DeviceThread); opening, reporting and waiting do not.
        let thread = DeviceThread()
        defer { thread.stop() }
        while !Task.isCancelled {
            await report(.starting, "opening \(target)", &health)
            do {
                await reportOpened(try await open(), &health)
                backoff.reset()
                try await withTaskExecutorPreference(thread) { try await work(&health) }
                if Task.isCancelled { break }
                await report(.offline, endedReason, &health)
            } catch is CancellationError {
                break
            } catch is RestartRequested {
                reporter.logger.notice("device \(descriptor.id): restarting at staff's request")
                await report(.offline, "restarting at staff's request", &health)
                close()
                health.restarts += 1
                backoff.reset()
                continue
            } catch {
                if let failure = error as? any DeviceFailure, !failure.isTransient {
                    let message = failure.description
                    reporter.logger.error("device \(descriptor.id) failed: \(message)")
                    health.lastError = message
                    await report(.failed, message, &health)
                    close()
                    return
                }
                reporter.logger.warning("device \(descriptor.id) offline: \(error)")
                health.lastError = "\(error)"
                await report(.offline, "\(error)", &health)
            }
            close()
            health.restarts += 1
            do {
                try await waitForDevice(upTo: .seconds(backoff.next()))
            } catch {
                break
            }
        }
        close()
        await report(.offline, "hub stopping", &health)
    }

    /// Online, or degraded with the warnings when the device works but not as configured.
    func reportOpened(_ online: String, _ health: inout Health) async {
        let warnings = self.warnings
        if warnings.isEmpty {
            await report(.online, online, &health)
        } else {
            for warning in warnings { reporter.logger.warning("device \(descriptor.id): \(warning)") }
            health.lastError = warnings.last
            await report(.degraded, "\(online); \(warnings.joined(separator: "; "))", &health)
        }
    }

    /// Publishes a `device.status` event with the state (a change of state or reason restarts `since`).
    func report(_ state: DeviceState, _ reason: String, _ health: inout Health) async {
        if state != health.state || reason != health.reason {
            health.state = state
            health.reason = reason
            health.since = Date()
        }
        await reporter.publish(status(health))
    }
}

/// Thrown from a pipeline's `work` when staff asked for the device to be restarted (status page, REST).
struct RestartRequested: Error {}

/// What every pipeline needs to tell the world: the device, the hub, the log and the registry.
struct DeviceReporter: Sendable {
    let descriptor: DeviceDescriptor
    let hubID: String
    let log: EventLog
    let registry: DeviceRegistry
    let logger: Logger
    /// Checks signed pickup codes when the hub has keys for them (`pickup` in hub.json).
    var pickup: PickupVerifier? = nil

    private var source: String { "storehub://\(hubID)/\(descriptor.id)" }

    /// Appends a `device.status` event and updates the registry. A log failure is logged, not thrown: status
    /// reporting must not take the pipeline down.
    func publish(_ status: DeviceStatus) async {
        registry.update(status)
        do {
            let event = CloudEvent(
                source: source, type: EventType.deviceStatus, subject: Topic.deviceStatus(descriptor.id),
                data: try JSONValue.encoding(status))
            _ = try await log.append(EventDraft(topic: event.subject, body: try event.encoded()))
        } catch {
            logger.error("device \(descriptor.id): status '\(status.state.rawValue)' not recorded: \(error)")
        }
    }

    /// Appends `storehub.scan` events, one per scan, in one transaction; then records them in the registry, with
    /// the time from `capturedAt` (a frame's capture) to the commit.
    func publish(scans: [ScanData], capturedAt: Date? = nil) async throws {
        guard !scans.isEmpty else { return }
        var drafts: [EventDraft] = []
        for var scan in scans {
            scan.pickup = pickup?.check(scan.text, now: Date()) { order in
                // A log that cannot answer is no reason to refuse a customer: the order service has the last word.
                (try? log.isCollected(orderID: order)) ?? false
            }
            let event = CloudEvent(
                source: source, type: EventType.scan, subject: Topic.scan(descriptor.id),
                data: try JSONValue.encoding(scan))
            let fact = scan.pickup?.orderId.map(PickupFact.scanned(orderID:))
            let insight = InsightFact.scan(
                device: descriptor.id.rawValue, label: scan.payloadClass ?? "",
                pickup: scan.payloadClass == "pickup-order" || scan.pickup != nil)
            drafts.append(EventDraft(topic: event.subject, body: try event.encoded(), pickup: fact, insight: insight))
        }
        let stored = try await log.append(drafts)
        if let capturedAt { registry.recordLatency(descriptor.id, seconds: Date().timeIntervalSince(capturedAt)) }
        for (scan, event) in zip(scans, stored) {
            registry.recordScan(scan, time: Timestamp.iso8601(Date()))
            logger.debug("device \(descriptor.id) scanned \(scan.symbology) (sequence \(event.sequence))")
        }
    }
}

/// A pipeline's state and counters, from which its status events are made.
struct Health {
    var state = DeviceState.starting
    var reason = ""
    var since = Date()
    /// Reopens of the device; a camera's in-place stream restarts are added in `status`.
    var restarts: UInt64 = 0
    /// The last thing that went wrong, kept after the device recovers so staff can see what happened.
    var lastError: String?
    /// Frames decoded (kiosks) or scans read (scanners).
    var processed: UInt64 = 0
    /// Scanners: input dropped as partial or over-long, and as unreadable; the last such problem.
    var scansDropped: UInt64 = 0
    var errors: UInt64 = 0
    var lastProblem: String?
    /// Mirrors: the latest frame budget for the status card.
    var frameBudget: FrameBudget?

    func status(of descriptor: DeviceDescriptor, delivered: UInt64, dropped: UInt64, streamRestarts: UInt64 = 0)
        -> DeviceStatus
    {
        DeviceStatus(
            device: descriptor.id, kind: descriptor.kind, name: descriptor.name, state: state, reason: reason,
            since: since, framesDelivered: delivered, framesProcessed: processed, framesDropped: dropped,
            restarts: restarts + streamRestarts, lastError: lastError, frameBudget: frameBudget)
    }
}
