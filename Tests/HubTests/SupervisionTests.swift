import Config
import EventLog
import Foundation
import HubCore
import Logging
import StoreHubTestSupport
import Synchronization
import Testing

@testable import Hub

/// A device that fails to open as often as told, then works until told to stop; a pipeline under the same
/// supervision loop as kiosks and scanners.
struct ScriptedPipeline: DevicePipeline {
    /// What each `open` does, in turn; once they run out, opening succeeds.
    enum Step: Sendable { case fail(String), failForGood(String), open }

    /// What the test and the pipeline share (Mutex and Atomic: the pipeline runs in its own task).
    final class State: Sendable {
        let script: Mutex<[Step]>
        /// Delays asked of `waitForDevice`, in seconds.
        let waits = Mutex<[Double]>([])
        /// Set by the test: the running device is asked to restart.
        let restart = Atomic<Bool>(false)

        init(_ script: [Step]) { self.script = Mutex(script) }
    }

    let reporter: DeviceReporter
    let state: State
    var target: String { "the scripted device" }
    var endedReason: String { "stream ended" }
    var waits: [Double] { state.waits.withLock { $0 } }

    init(reporter: DeviceReporter, script: [Step]) {
        self.reporter = reporter
        state = State(script)
    }

    struct Failure: DeviceFailure {
        var description: String
        var permanent: Bool
        var isTransient: Bool { !permanent }
    }

    func open() async throws -> String {
        let step = state.script.withLock { $0.isEmpty ? .open : $0.removeFirst() }
        switch step {
        case .fail(let why): throw Failure(description: why, permanent: false)
        case .failForGood(let why): throw Failure(description: why, permanent: true)
        case .open: return "scripted device open"
        }
    }

    func work(_ health: inout Health) async throws {
        while !Task.isCancelled {
            if state.restart.exchange(false, ordering: .relaxed) { throw RestartRequested() }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func close() {}

    func waitForDevice(upTo limit: Duration) async throws {
        state.waits.withLock {
            $0.append(Double(limit.components.seconds) + Double(limit.components.attoseconds) * 1e-18)
        }
    }

    func status(_ health: Health) -> DeviceStatus {
        health.status(of: descriptor, delivered: 0, dropped: 0)
    }
}

/// A scanner descriptor, a registry, and the bus and log its status goes to, for one supervised device.
struct SupervisionFixture {
    let bus: BusFixture
    var log: EventLog { bus.log }
    let registry = DeviceRegistry()
    let reporter: DeviceReporter

    init() throws {
        bus = try BusFixture()
        let json =
            #"{"id": "till-1", "kind": "scanner", "name": "Till", "scanner": {"type": "hid", "path": "/dev/null"}}"#
        let descriptor = try JSONDecoder().decode(DeviceDescriptor.self, from: Data(json.utf8))
        reporter = DeviceReporter(
            descriptor: descriptor, hubID: "test-hub", log: bus.log, registry: registry, logger: Logger(label: "test"))
    }

    /// The device.status events in the log: state and reason, oldest first.
    func statuses() throws -> [(state: String, reason: String)] {
        let pattern = try TopicPattern(validating: "device.status.>")
        let (events, _) = try log.read(after: 0, matching: pattern, limit: 1000)
        return try events.map { event in
            let data = try JSONDecoder().decode(JSONValue.self, from: Data(event.body))["data"]
            return (data?["state"]?.stringValue ?? "", data?["reason"]?.stringValue ?? "")
        }
    }

    /// Waits until the registry shows `state`, at most `timeout`.
    func waitFor(_ state: DeviceState, timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now + timeout
        while registry.deviceSummaries().first?.status.state != state {
            guard ContinuousClock.now < deadline else {
                Issue.record("the device never became \(state.rawValue)")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

@Suite struct SupervisionTests {
    @Test func aDeviceThatFailsToOpenIsReopenedWithGrowingDelaysUntilItIsOnline() async throws {
        let fixture = try SupervisionFixture()
        let pipeline = ScriptedPipeline(
            reporter: fixture.reporter, script: [.fail("unplugged"), .fail("unplugged"), .fail("busy")])
        let running = Task { await pipeline.run() }
        try await fixture.waitFor(.online)
        running.cancel()
        await running.value

        let summary = try #require(fixture.registry.deviceSummaries().first)
        #expect(summary.status.restarts == 3)
        #expect(summary.status.lastError == "busy")
        let waits = pipeline.waits
        #expect(waits.count == 3)
        // Full jitter around a doubling base from 0.5 s: [0.25, 0.5], [0.5, 1], [1, 2].
        for (index, wait) in waits.enumerated() {
            let base = 0.5 * Double(1 << index)
            #expect(wait >= base / 2 && wait <= base, "wait \(index): \(wait) s")
        }
        let states = try fixture.statuses().map(\.state)
        #expect(
            Array(states.prefix(7)) == [
                "starting", "offline", "starting", "offline", "starting", "offline", "starting",
            ])
        #expect(states.contains("online"))
        #expect(try fixture.statuses().last?.reason == "hub stopping")
    }

    @Test func aPermanentFailureIsReportedFailedAndNotRetried() async throws {
        let fixture = try SupervisionFixture()
        let pipeline = ScriptedPipeline(reporter: fixture.reporter, script: [.failForGood("no such device")])
        await pipeline.run()
        let last = try #require(try fixture.statuses().last)
        #expect(last.state == "failed")
        #expect(last.reason == "no such device")
        #expect(pipeline.waits.isEmpty)
    }

    @Test func aRestartRequestReopensAtOnceWithoutBackoff() async throws {
        let fixture = try SupervisionFixture()
        let pipeline = ScriptedPipeline(reporter: fixture.reporter, script: [])
        let running = Task { await pipeline.run() }
        try await fixture.waitFor(.online)
        pipeline.state.restart.store(true, ordering: .relaxed)
        let deadline = ContinuousClock.now + .seconds(120)
        while fixture.registry.deviceSummaries().first?.status.restarts != 1, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        try await fixture.waitFor(.online)
        running.cancel()
        await running.value
        #expect(fixture.registry.deviceSummaries().first?.status.restarts == 1)
        #expect(pipeline.waits.isEmpty)
        #expect(try fixture.statuses().contains { $0 == ("offline", "restarting at staff's request") })
    }
}
