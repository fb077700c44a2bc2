import HubCore
import Testing

@Suite struct TopicPatternTests {
    @Test func starMatchesExactlyOneSegment() throws {
        let pattern = try TopicPattern(validating: "scan.*")
        #expect(pattern.matches("scan.kiosk-1"))
        #expect(!pattern.matches("scan"))
        #expect(!pattern.matches("scan.kiosk-1.extra"))
        #expect(!pattern.matches("tryon.kiosk-1"))
    }

    @Test func greaterThanMatchesOneOrMoreTrailingSegments() throws {
        let pattern = try TopicPattern(validating: "device.status.>")
        #expect(pattern.matches("device.status.kiosk-1"))
        #expect(pattern.matches("device.status.kiosk-1.camera"))
        #expect(!pattern.matches("device.status"))
        #expect(!pattern.matches("device.statusx.kiosk-1"))
    }

    @Test func literalPatternMatchesOnlyItself() throws {
        let pattern = try TopicPattern(validating: "scan.kiosk-1")
        #expect(pattern.matches("scan.kiosk-1"))
        #expect(!pattern.matches("scan.kiosk-10"))
    }

    @Test(arguments: ["", "scan..x", "scan.>.x", "scan.k*", ".scan"])
    func malformedPatternsAreRefused(_ text: String) {
        #expect(throws: ValidationError.self) { try TopicPattern(validating: text) }
    }

    @Test func coverageDecidesWhetherOnePatternIsInsideAnother() throws {
        let service = try TopicPattern(validating: "scan.>")
        #expect(try TopicPattern(validating: "scan.kiosk-1").isCovered(by: service))
        #expect(try TopicPattern(validating: "scan.*").isCovered(by: service))
        #expect(try !TopicPattern(validating: ">").isCovered(by: service))
        #expect(try !TopicPattern(validating: "*.kiosk-1").isCovered(by: service))
    }

    @Test func publishTopicsMayNotHoldWildcards() {
        #expect(throws: ValidationError.self) { try Topic.validate("scan.*") }
        #expect(throws: ValidationError.self) { try Topic.validate("scan.>") }
        #expect(throws: Never.self) { try Topic.validate("mirror.command.mirror-1") }
    }

    @Test func serviceRoleReadsScansButNotCommands() throws {
        #expect(Role.service.maySubscribe(try TopicPattern(validating: "scan.>")))
        #expect(!Role.service.maySubscribe(try TopicPattern(validating: ">")))
        #expect(!Role.service.maySubscribe(try TopicPattern(validating: "mirror.command.*")))
        #expect(!Role.service.mayPublish("scan.kiosk-1"))
        #expect(Role.staff.mayPublish("mirror.command.mirror-1"))
        #expect(!Role.staff.mayPublish("scan.kiosk-1"))
        #expect(Role.admin.mayPublish("scan.kiosk-1"))
    }
}
