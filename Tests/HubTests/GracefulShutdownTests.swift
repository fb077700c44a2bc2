import Bus
import Foundation
import HubCore
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import StoreHubTestSupport
import Testing

@testable import Hub

@Suite struct GracefulShutdownTests {
    @Test func onGracefulShutdownDevicesReportHubStoppingAndBusClientsAreToldToGo() async throws {
        let fixture = try SupervisionFixture()
        let pipeline = ScriptedPipeline(reporter: fixture.reporter, script: [])
        let client = fixture.bus.session(token: fixture.bus.admin)
        let service = DeviceService(
            pipelines: [pipeline], bus: fixture.bus.bus, log: fixture.log, mirrors: nil, logger: Logger(label: "test"))
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                try await fixture.waitFor(.online)
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        let last = try #require(try fixture.statuses().last)
        #expect(last.state == "offline")
        #expect(last.reason == "hub stopping")
        #expect(client.closeRequested != nil)
        _ = client.drain()  // the greeting and the auth answer; the close comes after everything queued
        #expect(client.drain() == [.close(code: 1001, reason: "hub shutting down")])
    }

    @Test func theSystemdStatusSaysStoppingOnGracefulShutdown() async throws {
        let folder = try TemporaryFolder("notify")
        let socket = try NotifySocket(in: folder)
        let fixture = try SupervisionFixture()
        let status = Supervisor(
            notifier: SystemdNotifier(environment: socket.environment), registry: fixture.registry, log: fixture.log,
            logger: Logger(label: "test"))
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await status.run() }
                #expect(await socket.receive() == "STATUS=no devices configured")
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        #expect(await socket.receive() == "STOPPING=1\nSTATUS=stopping")
    }

    @Test func theWatchdogIsPingedWhileTheEventLogCommits() async throws {
        let folder = try TemporaryFolder("notify")
        let socket = try NotifySocket(in: folder)
        let fixture = try SupervisionFixture()
        var environment = socket.environment
        environment["WATCHDOG_USEC"] = "200000"
        let status = Supervisor(
            notifier: SystemdNotifier(environment: environment), registry: fixture.registry, log: fixture.log,
            logger: Logger(label: "test"))
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await status.run() }
                var received: [String] = []
                while let message = await socket.receive() {
                    received.append(message)
                    if message == "WATCHDOG=1" { break }
                }
                #expect(received == ["STATUS=no devices configured", "WATCHDOG=1"])
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
    }
}
