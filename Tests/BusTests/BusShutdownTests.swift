import Bus
import HubCore
import Server
import StoreHubTestSupport
import Testing

@Suite struct BusShutdownTests {
    /// The close the session asks its writer for, once its queued messages are out.
    func closeCode(_ session: BusSession) -> UInt16? {
        for _ in 0..<8 {
            for item in session.drain() {
                if case .close(let code, _) = item { return code }
            }
        }
        return nil
    }

    @Test func aConnectionOpenedWhileTheHubStopsIsClosedAtOnce() throws {
        let fixture = try BusFixture()
        let before = fixture.session(token: fixture.admin)
        fixture.bus.shutdown()
        #expect(closeCode(before) == 1001)
        // A page that reconnects during the stop: without its close it would hold the server open.
        let after = fixture.session(token: fixture.admin)
        #expect(closeCode(after) == 1001)
    }

    @Test func aRevokedTokensConnectionsAreRefusedAndOthersStay() throws {
        let fixture = try BusFixture()
        let screen = try fixture.tokens.create(
            role: .screen, label: "s", device: try DeviceID(validating: "mirror-1"), deviceKind: .mirror)
        let revoked = fixture.session(token: screen.token)
        let other = fixture.session(token: fixture.admin)
        fixture.bus.disconnect(tokenID: screen.id)
        #expect(closeCode(revoked) == 4401)
        #expect(revoked.principal == nil)
        #expect(closeCode(other) == nil)
    }
}
