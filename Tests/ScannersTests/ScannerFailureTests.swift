import Config
import Foundation
import HubCore
import Scanners
import Testing

/// What the supervisor reads of a scanner that cannot be opened: whether retrying may help, in staff's words with
/// the system's reason.
@Suite struct ScannerFailureTests {
    @Test func aFileThatIsNoSerialPortIsAPermanentFailureWithTheSystemsReason() async throws {
        let json = #"{"id":"scanner-till","kind":"scanner","scanner":{"type":"serial","path":"/dev/null"}}"#
        let descriptor = try ConfigFile.decode(DeviceDescriptor.self, from: Data(json.utf8), file: "scanner-till.json")
        let settings = try #require(descriptor.scanner)
        guard case .serial(let serial) = settings.connection else {
            Issue.record("not a serial scanner: \(settings.connection)")
            return
        }
        let scanner = SerialScanner.source(settings: settings, serial: serial)
        let error = await #expect(throws: ScannerError.self) { try await scanner.open() }
        let failure = try #require(error.map { $0 as any DeviceFailure })
        #expect(!failure.isTransient)
        #expect(failure.description.contains("/dev/null is not a serial port"))
        #expect(failure.description.contains(String(cString: strerror(ENOTTY))))
    }
}
